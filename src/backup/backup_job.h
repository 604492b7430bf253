// The backup engine: reads a slice of one namespace with `parallel` scan workers and
// writes .asb files (rotated at file-limit, through optional zstd and AES layers), then
// writes the manifest and, last, metadata.yaml. A backup without metadata.yaml is
// incomplete: it is never reported as finished.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backup/partition_set.h"
#include "backup/slice.h"
#include "client/client.h"
#include "common/semaphore.h"
#include "storage/codec.h"
#include "storage/storage.h"

namespace absvc::backup {

struct BackupOptions {
  std::string ns;
  Slice slice;
  std::vector<std::string> sets;  // empty = all
  std::vector<std::string> bins;  // empty = all
  int parallel = 8;
  std::string filter;                   // packed filter expression from the user, optional
  int64_t modified_after_unix_ns = 0;   // 0 = no lower bound (full backup)
  int64_t modified_before_unix_ns = 0;  // 0 = no upper bound
  bool no_records = false;
  bool no_indexes = false;
  bool no_udfs = false;
  bool compact = false;
  uint64_t file_limit_bytes = 250ull * 1000 * 1000;
  storage::CodecOptions codec;
  uint32_t records_per_second = 0;
  uint64_t bandwidth_bytes_per_second = 0;
  // Longest wait for the next piece of a scan answer; 0 = the client's default.
  std::chrono::milliseconds socket_timeout{0};
  std::string directory;  // in storage: where this namespace's files go
  // A resumable backup writes a checkpoint (checkpoint.h) each time it closes a file and
  // keeps what it wrote when it fails (not when cancelled). Started again on the same
  // directory, it resumes from the checkpoint: keeps the complete files, removes what was
  // written after, and scans only what is left. With no usable checkpoint there (none,
  // damaged, another namespace, other options, another version), it starts over, and
  // `on_start_over` is told why.
  bool resumable = false;
  std::function<void(const std::string& why)> on_start_over;
  // Set to true to stop: the backup removes its files and returns kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Shared by every job on one cluster (max-parallel-scans): each scan worker holds a
  // permit while it scans.
  Semaphore* scan_slots = nullptr;
};

// Live counters a caller may read while the backup runs.
struct BackupProgress {
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> estimated_records{0};
  std::atomic<uint64_t> files{0};
};

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

Result<BackupResult> RunBackup(client::Client& client, storage::Storage& storage,
                               const BackupOptions& options, BackupProgress* progress = nullptr);

}  // namespace absvc::backup
