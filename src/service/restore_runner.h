// The restore runner: restore jobs from acceptance to their end. It plans every backup a
// job names before the first write (restore_planning.h), runs them, retries what may pass
// (files restored whole are skipped), keeps the job history's counters current while the
// job runs, and serves the ABS views of running and finished jobs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "jobs/job_store.h"
#include "service/clusters.h"
#include "service/runs.h"
#include "storage/storage.h"

namespace absvc::service {

class Metrics;

class RestoreRunner {
 public:
  RestoreRunner(Clock& clock, jobs::JobStore& jobs, Metrics& metrics, ClusterConnections& clusters,
                JobStorageOpener open_storage);

  // Records the job in the history first (a job is never shown that the history lacks),
  // then keeps it as running. The caller runs Run(run) on a thread of its own.
  Status Accept(const std::shared_ptr<RestoreRun>& run);
  void Run(std::shared_ptr<RestoreRun> run);

  // ABS's RestoreJobStatus: live counters while it runs, the history's once it ended.
  Result<Json> StatusOf(int64_t id);
  // "running,done" / "!failed": case-insensitive; done = success, failed = failure.
  Result<Json> Jobs(int64_t from_ms, int64_t to_ms, const std::string& status_filter);
  // Ok (nothing changes) when the job has ended, kNotFound when there is none.
  Status Cancel(int64_t id);
  void CancelAll();

 private:
  Json RunJson(const RestoreRun& run) const;
  void CountRunningLocked();

  Clock& clock_;
  jobs::JobStore& jobs_;
  Metrics& metrics_;
  ClusterConnections& clusters_;
  JobStorageOpener open_storage_;
  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<RestoreRun>> running_;  // finished ones leave once saved
};

}  // namespace absvc::service
