// What storage to open: one StorageSpec, parsed once (from an ABS `storage` block by the
// service's config, or from absctl's flags and URLs here) and handed to OpenStorage
// (registry.h). Secrets live in it, so it is never logged: Describe() names the storage
// without them.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace absvc::storage {

enum class StorageKind { kLocal, kS3, kGcs, kAzure, kMemory };

// How a failed request to storage is retried: attempts in all, the first pause, its growth
// per attempt, and the longest pause. Only transient failures (IsTransient) are retried.
struct RetrySpec {
  int max_attempts = 5;
  int64_t initial_backoff_ms = 1000;
  double multiplier = 2.0;
  int64_t max_backoff_ms = 30000;
  int64_t request_timeout_ms = 600000;  // one request, start to end (0: none)
};

struct StorageSpec {
  StorageKind kind = StorageKind::kLocal;
  // Local: the root directory. Cloud: the prefix inside the bucket or container ("" for
  // its top), without leading or trailing '/'.
  std::string path;
  std::string bucket;  // S3 and GCS bucket, Azure container

  // S3 (s3-storage).
  std::string s3_region, s3_endpoint_override, s3_profile;
  std::string s3_access_key_id, s3_secret_access_key;
  bool s3_path_style = false;  // use-path-style; always on with an endpoint override

  // GCS (gcp-storage): a service-account key as a file or inline JSON.
  std::string gcs_key_file_path, gcs_key_json, gcs_endpoint;

  // Azure (azure-storage): Shared Key, SAS token, or a service principal.
  std::string azure_endpoint, azure_account_name, azure_account_key, azure_sas_token;
  std::string azure_tenant_id, azure_client_id, azure_client_secret, azure_authority;

  std::string storage_class;           // data objects; "" = the bucket's default
  int64_t min_part_size = 5 << 20;     // multipart part / resumable chunk / block size
  int64_t max_async_connections = 16;  // parts in flight per object
  RetrySpec retry;
  int64_t bandwidth_bytes_per_second = 0;  // 0: unlimited

  // "local:/var/backups", "s3://bucket/prefix", "gs://bucket/prefix",
  // "azure://account/container/prefix", "memory:name": no secrets.
  std::string Describe() const;
  // "local-storage", "s3-storage", "gcp-storage", "azure-storage", "memory".
  std::string KindName() const;
};

// absctl's storage argument: a local directory (or file://dir), s3://bucket[/prefix],
// gs://bucket[/prefix] or az://container[/prefix] (asbackup's -d forms). Cloud settings
// (region, credentials, endpoint) come from flags and are filled in afterwards.
Result<StorageSpec> ParseStorageUrl(const std::string& url);

// "a/b" from "/a//b/": the form StorageSpec.path takes for a cloud prefix.
std::string NormalizePrefix(const std::string& prefix);

}  // namespace absvc::storage
