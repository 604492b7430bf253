// Crash recovery at startup: jobs a previous process left running, and runs in the shared
// storage whose owner is gone. Backups that can go on from their checkpoints are handed
// back to resume; the rest is cleaned up, touching only what provably belongs to a
// process that is gone.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "jobs/job_store.h"
#include "service/runs.h"

namespace absvc::service {

struct InterruptedBackup {
  jobs::JobRecord job;
  std::string run_dir;  // its claimed run directory in the routine's storage
};

class CrashRecovery {
 public:
  CrashRecovery(jobs::JobStore& jobs, int64_t run_lease_ms, StorageOpener open_storage);

  // Jobs of the history still marked running whose owner is gone. A backup of a routine
  // still configured alike, whose run directory holds its claim, is returned to resume;
  // every other such job is marked failed (restores with their counters made to add up)
  // and the partial directories of its backups are removed.
  std::vector<InterruptedBackup> RecoverInterruptedJobs(const Config& config);
  // Rewrites the claims of `backups` to name this process, so no instance takes them for
  // abandoned; returns those that can resume (the others are marked failed).
  std::vector<InterruptedBackup> Reclaim(const Config& config,
                                         std::vector<InterruptedBackup> backups);
  // Removes the runs in each routine's storage whose claim names an owner that is gone
  // and that did not finish every namespace: a crash left them, perhaps before any job
  // was recorded. Runs without a claim (ABS's) are left alone.
  void RemoveAbandonedRuns(const Config& config);

 private:
  jobs::JobStore& jobs_;
  const int64_t run_lease_ms_;
  StorageOpener open_storage_;
};

}  // namespace absvc::service
