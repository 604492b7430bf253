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
  // The SHA-256 of each block of block_size stored bytes (the last one shorter): what a
  // restore checks before decoding. Empty for files written before abs kept them.
  uint64_t block_size = 0;
  std::vector<std::string> block_sha256{};
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

// `manifest_sha256`, when given, is written as abs-manifest-sha256 (ABS ignores it).
std::string FormatMetadataYaml(const BackupResult& r, const std::string& manifest_sha256 = "");
std::string FormatManifestJson(const BackupResult& r);

// A finished backup's two descriptions, sealed to each other so that an edit of either
// is detected: metadata.yaml carries the manifest's digest (ManifestDigest), and the
// manifest carries the SHA-256 of metadata.yaml's bytes ("metadata-sha256").
struct SealedDescriptions {
  std::string manifest;  // abs-manifest.json
  std::string metadata;  // metadata.yaml
};
SealedDescriptions SealDescriptions(const BackupResult& r);

// The digest metadata.yaml holds of a manifest: SHA-256 (hex) of its canonical JSON (keys
// sorted, no spaces) without "metadata-sha256". Corrupt when the text is not JSON.
Result<std::string> ManifestDigest(const std::string& manifest_text);

struct BackupMetadata {
  std::string ns;
  std::string created;  // RFC 3339
  std::string finished;
  std::string from;  // an incremental's lower bound; ABS writes 0001-01-01T00:00:00Z for a full
  uint64_t record_count = 0;
  uint64_t byte_count = 0;
  uint64_t file_count = 0;
  uint64_t sindex_count = 0;
  uint64_t udf_count = 0;
  std::string compression = "NONE";
  std::string encryption = "NONE";
  std::string manifest_sha256;  // abs-manifest-sha256; empty before abs sealed its backups
};
Result<BackupMetadata> ParseMetadataYaml(const std::string& text);

// The manifest as read back by verify.
struct Manifest {
  std::string ns;
  std::string slice;
  PartitionSet partitions;
  uint64_t record_count = 0;
  std::vector<BackupFile> files;
  bool file_records_known = true;  // every file entry says how many records it holds
  std::string metadata_sha256;     // empty before abs sealed its backups
};
Result<Manifest> ParseManifestJson(const std::string& text);

// Everything that does not add up between a manifest (its text and parse) and the
// metadata.yaml beside it (`metadata_text`, null when there is none, which the caller
// reports as an unfinished backup): the seal's digests
// both ways, the namespace, the record count against metadata.yaml's and against the sum
// of the files', the file count. Empty when consistent. A manifest written before the
// seal is checked for its counts only.
std::vector<std::string> CheckDescriptions(const std::string& manifest_text,
                                           const Manifest& manifest,
                                           const std::string* metadata_text);

// RFC 3339 UTC with milliseconds, as ABS writes times.
std::string FormatRfc3339Millis(int64_t unix_ms);

}  // namespace absvc::backupset
