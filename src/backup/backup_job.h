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

#include "backup/slice.h"
#include "backupset/metadata.h"
#include "backupset/partition_set.h"
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
  // Files written at once (parallel-write): below `parallel`, the scan workers share this
  // many files, each rotating at file-limit; 0 (or not below parallel): a file per worker.
  int parallel_write = 0;
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
  // Each scan worker's scan must end within this (total-timeout); 0 = no bound. A worker
  // past it fails the attempt with kTimeout; a retry resumes from the checkpoint.
  std::chrono::milliseconds total_timeout{0};
  // Ask the cluster for compressed scan answers (use-scan-compression).
  bool scan_compression = false;
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
  // Set before `cancel` when the stop is the process's (a graceful shutdown): a resumable
  // backup then keeps what it wrote, as after a failure, so the next start resumes it.
  const std::atomic<bool>* keep_on_cancel = nullptr;
  // Shared by every job on one cluster (max-parallel-scans): each scan worker holds a
  // permit while it scans.
  Semaphore* scan_slots = nullptr;
  // At most this many distinct nodes scanned at once by the job's workers together
  // (max-concurrent-nodes); 0 = no limit.
  size_t max_concurrent_nodes = 0;
};

// Live counters a caller may read while the backup runs.
struct BackupProgress {
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> estimated_records{0};
  std::atomic<uint64_t> files{0};
  // With max_concurrent_nodes: the most distinct nodes scanned at once.
  std::atomic<uint64_t> peak_concurrent_nodes{0};
};

// What a backup wrote: the backup set's own description (backupset/metadata.h).
using BackupFile = backupset::BackupFile;
using BackupResult = backupset::BackupResult;

Result<BackupResult> RunBackup(client::Client& client, storage::Storage& storage,
                               const BackupOptions& options, BackupProgress* progress = nullptr);

// What the records of a backup depend on, as a short hash kept in its checkpoint:
// namespace, sets, bins, filter, time bounds, no-records, compact, compression and
// encryption (not the key). A resume with other options starts over.
std::string OptionsFingerprint(const BackupOptions& o);

}  // namespace absvc::backup
