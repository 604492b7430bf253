// Backup and restore runs in progress: what the service's parts (scheduler, runners,
// recovery, the API's views) share about a running job. Internal to src/service.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "backup/backup_job.h"
#include "common/clock.h"
#include "common/cltime.h"
#include "common/log.h"
#include "config/config.h"
#include "jobs/job.h"
#include "restore/restore_job.h"
#include "service/ownership.h"
#include "storage/storage.h"

namespace absvc::service {

using jobs::JobStatus;

// The routine's slice as abs-run.json records it (backupset::SliceKey).
std::string SliceKey(const RoutineConfig& routine);

// Opens a storage of the configuration (through the service's registry and metrics).
using StorageOpener =
    std::function<Result<std::shared_ptr<storage::Storage>>(const StorageConfig&)>;
// The same for a job's data: its transfers, and every wait on them, end as soon as
// `cancel` (the job's own flag) is set.
using JobStorageOpener = std::function<Result<std::shared_ptr<storage::Storage>>(
    const StorageConfig&, const std::atomic<bool>* cancel)>;

struct BackupRun {
  int64_t id = 0;
  std::string routine;
  bool incremental = false;
  std::atomic<int64_t> start_ms{0};
  int64_t delay_ms = 0;
  // A run triggered with a delay is scheduled, not running, until its delay is over: until
  // then it blocks no restore and shows as the routine's next backup (at due_ms).
  int64_t due_ms = 0;
  std::atomic<bool> begun{false};
  std::shared_ptr<const Config> config;  // the config the run started with
  std::atomic<bool> cancel{false};
  // Set before `cancel` by a graceful shutdown: the run keeps its files and checkpoints and
  // stays "running" in the history, released, so the next start resumes it.
  std::atomic<bool> keep_work{false};
  std::mutex mu;
  std::vector<std::shared_ptr<backup::BackupProgress>> progress;  // one per namespace started
  std::vector<std::string> directories;                           // written by this run
  int namespaces_total = 0;
  // A run a previous process left: its directory, claimed again, and its job record.
  std::string resume_dir;
  Json resume_detail;
  std::unique_ptr<RunLock> lock;  // held from the trigger (or the run's start) to its end;
                                  // guarded by mu
};

// What a backup run renews while it lasts: its lock, and its claim once made.
struct RunHeartbeat {
  std::mutex mu;
  std::shared_ptr<storage::Storage> storage;
  std::string run_dir;
  Json claim;

  void SetStorage(std::shared_ptr<storage::Storage> s) {
    std::lock_guard lock(mu);
    storage = std::move(s);
  }
  void Claimed(const std::string& dir, const Json& c) {
    std::lock_guard lock(mu);
    run_dir = dir;
    claim = c;
  }
  void Beat(BackupRun& run) {
    {
      std::lock_guard lock(run.mu);
      if (run.lock) {
        Status st = run.lock->Renew();
        if (st.code() == StatusCode::kConflict) {
          ABS_LOG_ERROR("backup of routine {} cancelled: {}", run.routine, st.message());
          run.cancel = true;
          return;
        }
        if (!st.ok())
          ABS_LOG_WARN("renewing the lock of routine {}: {}", run.routine, st.ToString());
      }
    }
    std::lock_guard lock(mu);
    if (!storage || run_dir.empty()) return;
    claim["heartbeat-ms"] = UnixNowMillis();
    Status st = storage->PutAtomic(run_dir + "/abs-run.json",
                                   claim.dump(2, ' ', false, Json::error_handler_t::replace));
    if (!st.ok()) ABS_LOG_WARN("renewing the claim of {}: {}", run_dir, st.ToString());
  }
};

struct RestoreRun {
  int64_t id = 0;
  jobs::JobType kind = jobs::JobType::kFull;
  RestoreRequest request;
  // Resolved when the job is accepted, so later config edits cannot pull them away.
  StorageConfig source;
  ClusterConfig destination;
  std::string destination_name;  // empty: an inline destination, connected for this job
  std::string routine_slice;     // the routine's slice, for timestamp restores
  int64_t start_ms = 0;
  std::atomic<int64_t> finish_ms{0};
  std::atomic<bool> cancel{false};
  restore::RestoreCounters counters;
  restore::RestoreNotes notes;
  std::atomic<uint64_t> total_records{0};
  std::mutex mu;
  JobStatus status = JobStatus::kRunning;
  std::string error;
};

// A new job id: positive and below 2^53, so JavaScript clients read it exactly.
inline int64_t NewJobId() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mu);
  return static_cast<int64_t>(rng() & ((1ULL << 53) - 1)) | 1;
}

}  // namespace absvc::service
