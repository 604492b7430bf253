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

#include "backupset/partition_set.h"
#include "common/status.h"
#include "storage/codec.h"

namespace absvc::backupset {

inline constexpr const char* kMetadataFile = "metadata.yaml";
inline constexpr const char* kManifestFile = "abs-manifest.json";
inline constexpr const char* kStartFile = "abs-start.json";

struct BackupFile {
  std::string name;  // relative to the backup directory
  uint64_t size = 0;
  std::string sha256;
  uint64_t records = 0;
};

struct BackupResult {
  std::string ns;
  PartitionSet partitions;
  std::string slice;
  int64_t created_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  int64_t from_unix_ns = 0;
  uint64_t record_count = 0;
  uint64_t byte_count = 0;
  uint64_t sindex_count = 0;
  uint64_t udf_count = 0;
  std::vector<BackupFile> files;
  std::vector<std::pair<uint32_t, uint64_t>> records_per_partition;
  std::vector<std::pair<std::string, int64_t>> nodes_at_start;  // id, partition-generation
  storage::CodecOptions codec;
  // Resumed from a checkpoint: the records and files that run had already written.
  bool resumed = false;
  uint64_t resumed_records = 0;
  size_t resumed_files = 0;
};

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

}  // namespace absvc::backupset
