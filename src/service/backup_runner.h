// The backup runner: one backup run from its start to its end. It takes the run's lock
// (a scheduled run) and claims a run directory, backs up each namespace (resuming from
// checkpoints, retried with backoff on the clock), renews lock and claim while it runs,
// removes what a failed run wrote, applies retention, and keeps the job record.
// What the run needs from the rest of the service comes through Hooks.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "jobs/job_store.h"
#include "service/clusters.h"
#include "service/ownership.h"
#include "service/runs.h"

namespace absvc::service {

class Metrics;

class BackupRunner {
 public:
  struct Hooks {
    // The run lock of the routine's slice, in its storage (for scheduled runs; triggered
    // ones arrive holding it).
    std::function<Result<std::unique_ptr<RunLock>>(const Config&, const std::string& routine,
                                                   bool incremental)>
        acquire_lock;
    // Unix ms an incremental of the routine covers from: the last full backup's start
    // (cumulative), else the last backup's of either kind.
    std::function<int64_t(const std::string& routine, bool cumulative)> incremental_base_ms;
    // Last, once the run ended and its lock is released.
    std::function<void(const std::shared_ptr<BackupRun>& run, bool succeeded)> finished;
  };

  BackupRunner(Clock& clock, int64_t run_lease_ms, jobs::JobStore& jobs, Metrics& metrics,
               ClusterConnections& clusters, JobStorageOpener open_storage, Hooks hooks);

  void Run(std::shared_ptr<BackupRun> run);

 private:
  Clock& clock_;
  const int64_t run_lease_ms_;
  jobs::JobStore& jobs_;
  Metrics& metrics_;
  ClusterConnections& clusters_;
  JobStorageOpener open_storage_;
  Hooks hooks_;
};

}  // namespace absvc::service
