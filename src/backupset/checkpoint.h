// The checkpoint of a backup that is still running: what a resumed backup keeps and where
// each partition's scan goes on. It is rewritten (abs-checkpoint.json, beside
// abs-start.json) every time a file is closed, so it never names a file that is not
// complete, and every record it counts is in one of the files it names:
//   - the slice as resolved at the start (a node or rack slice is frozen: a resume scans
//     the same partitions even if masters moved);
//   - the complete files, with size, SHA-256 and records;
//   - for each partition: done, in progress after a digest (with its records so far),
//     or, when absent, not started;
//   - the options that shape the records (a resume with other sets, bins, filter, time
//     bounds or codec would mix two backups), as a fingerprint.
// It is the information asbackup's state file keeps. A finished backup removes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backupset/metadata.h"
#include "backupset/partition_set.h"
#include "common/status.h"
#include "wire/digest.h"

namespace absvc::backupset {

inline constexpr const char* kCheckpointFile = "abs-checkpoint.json";
inline constexpr const char* kCheckpointFormat = "abs-checkpoint/1";

struct PartitionProgress {
  uint32_t pid = 0;
  bool done = false;
  std::optional<wire::Digest> last_digest;  // the scan goes on strictly after it
  uint64_t records = 0;
};

struct Checkpoint {
  std::string ns;
  int64_t created_unix_ms = 0;  // the backup's start: also in abs-start.json
  std::string fingerprint;      // OptionsFingerprint() of the options it was written with
  PartitionSet partitions;
  uint32_t next_file_id = 1;
  std::string first_file;         // the file that carries "# first-file", if kept
  bool definitions_done = false;  // the secondary-index and UDF file is written (or not due)
  uint64_t sindex_count = 0;
  uint64_t udf_count = 0;
  std::vector<std::pair<std::string, int64_t>> nodes_at_start;
  std::vector<BackupFile> files;
  std::vector<PartitionProgress> progress;  // partitions started or done, by pid
};

std::string FormatCheckpoint(const Checkpoint& c);

// Strict: an unknown format (a newer abs), a partition outside the slice or listed twice,
// a digest of the wrong partition or size, a file name that is not a plain .asb name:
// an error naming what is wrong.
Result<Checkpoint> ParseCheckpoint(std::string_view text);

}  // namespace absvc::backupset
