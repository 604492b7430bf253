// absctl's commands. Each returns the process exit code: 0 success, 1 failure,
// 2 bad usage, 3 (verify) an incomplete or overlapping backup set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace absvc::cli {

struct ConnectionFlags {
  std::string hosts = "127.0.0.1:3000";
  std::string user;
  std::string password;
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_ca_path;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string cluster_name;
};

struct CodecFlags {
  std::string compress;  // "", none, zstd
  int compression_level = 0;
  std::string encrypt;  // "", none, aes128, aes256
  std::string encryption_key_file;
  std::string encryption_key_env;
};

// Where backups live, beyond a local directory: Aerospike absctl's and asbackup's cloud
// flags. With a bucket or container named, -d is the folder inside it; -d may also be a
// URL (s3://bucket/prefix, gs://..., az://container/prefix).
struct StorageFlags {
  std::string s3_bucket_name, s3_region, s3_profile, s3_endpoint_override;
  std::string s3_access_key_id, s3_secret_access_key, s3_storage_class;
  uint64_t s3_min_part_size = 0;
  std::string gcp_bucket_name, gcp_key_path, gcp_endpoint_override;
  std::string azure_account_name, azure_account_key, azure_tenant_id, azure_client_id;
  std::string azure_client_secret, azure_endpoint, azure_container_name;
  int max_async_connections = 0;
};

struct BackupFlags {
  ConnectionFlags conn;
  CodecFlags codec;
  StorageFlags storage;
  std::string ns;
  std::string directory;
  std::string continue_directory;  // --continue: resume the backup there
  int parallel = 8;
  int parallel_write = 0;  // files written at once; 0: one per scan worker
  std::vector<std::string> sets;
  std::vector<std::string> bins;
  std::string partition_list;
  std::vector<std::string> node_list;
  std::vector<uint32_t> rack_list;
  std::string modified_after;
  std::string modified_before;
  bool no_records = false, no_indexes = false, no_udfs = false, compact = false;
  uint64_t file_limit_mib = 250;
  uint32_t records_per_second = 0;
  uint64_t bandwidth_mib = 0;
};

struct RestoreFlags {
  ConnectionFlags conn;
  CodecFlags codec;
  StorageFlags storage;
  std::string ns;  // "src,dst" remaps
  std::vector<std::string> directories;
  int parallel = 8;
  size_t batch_size = 128;
  size_t max_async_batches = 16;
  bool disable_batch_writes = false;
  bool replace = false, unique = false, no_generation = false;
  uint32_t extra_ttl = 0;
  std::vector<std::string> sets;
  std::vector<std::string> bins;
  uint64_t tps = 0;
  uint64_t bandwidth_mib = 0;
  bool no_records = false, no_indexes = false, no_udfs = false;
  bool salvage = false;
};

struct LoadFlags {
  ConnectionFlags conn;
  std::string ns = "test";
  std::string set = "testset";
  uint64_t records = 100000;
  uint64_t object_size = 1024;
  int parallel = 8;
  uint64_t start_key = 0;
};

int Backup(const BackupFlags& flags);
int Restore(const RestoreFlags& flags);
int Verify(const std::vector<std::string>& directories, const StorageFlags& storage = {});
int Load(const LoadFlags& flags);
int Info(const ConnectionFlags& conn);
int Truncate(const ConnectionFlags& conn, const std::string& ns, const std::string& set);

// "2026-11-25T10:00:00Z", "2026-11-25_10:00:00" (UTC) or Unix milliseconds.
bool ParseTimeToUnixNanos(const std::string& text, int64_t* out);

// The word of `words` nearest to `typed` (edit distance), when near enough to be what was
// meant (at most a third of its letters wrong); "" otherwise.
std::string NearestWord(const std::string& typed, const std::vector<std::string>& words);

}  // namespace absvc::cli
