// What a finished backup leaves beside its .asb files:
//   metadata.yaml     ABS's fields, so ABS-style listings and restores work;
//   abs-manifest.json what ABS lacks: the exact partitions covered, the cluster at start,
//                     every file with size and SHA-256, and records per partition.
// Both are written last, manifest first, metadata.yaml at the very end. Before its first
// file, a backup writes abs-start.json: a directory that holds it but no manifest is an
// abs backup that did not finish, never mistaken for one written by asbackup or ABS.
#pragma once

#include <string>
#include <vector>

#include "backup/backup_job.h"
#include "common/status.h"

namespace absvc::backup {

inline constexpr const char* kMetadataFile = "metadata.yaml";
inline constexpr const char* kManifestFile = "abs-manifest.json";
inline constexpr const char* kStartFile = "abs-start.json";

std::string FormatMetadataYaml(const BackupResult& r);
std::string FormatManifestJson(const BackupResult& r);

struct BackupMetadata {
  std::string ns;
  std::string created;  // RFC 3339
  std::string finished;
  uint64_t record_count = 0;
  uint64_t byte_count = 0;
  uint64_t file_count = 0;
  uint64_t sindex_count = 0;
  uint64_t udf_count = 0;
  std::string compression = "NONE";
  std::string encryption = "NONE";
};
Result<BackupMetadata> ParseMetadataYaml(const std::string& text);

// The manifest as read back by verify.
struct Manifest {
  std::string ns;
  std::string slice;
  PartitionSet partitions;
  uint64_t record_count = 0;
  std::vector<BackupFile> files;
};
Result<Manifest> ParseManifestJson(const std::string& text);

// RFC 3339 UTC with milliseconds, as ABS writes times.
std::string FormatRfc3339Millis(int64_t unix_ms);

}  // namespace absvc::backup
