// The scheduler: backups started when the schedule (schedule.h) says they are due, on the
// service's clock, or when triggered; each under the routine's run lock, one of a kind
// per routine at a time.
#include <algorithm>

#include "backupset/catalog.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/text.h"
#include "service/backup_runner.h"
#include "service/metrics.h"
#include "service/runs.h"
#include "service/service.h"

namespace absvc::service {

void Service::SchedulerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    int64_t now = options_.clock->UnixMillis();
    for (const auto& due : schedule_.TakeDue(*config_, now)) {
      Status st = StartBackupLocked(due.routine, due.incremental, 0, true);
      if (!st.ok()) {
        ABS_LOG_INFO("scheduled {} backup of {}: {}", due.incremental ? "incremental" : "full",
                     due.routine, st.message());
      }
    }
    options_.clock->WaitUntilUnix(lock, scheduler_cv_,
                                  std::max<int64_t>(now + 10, schedule_.NextWakeMs(now)));
  }
}

Status Service::TriggerBackup(const std::string& routine, bool incremental, int64_t delay_ms) {
  std::shared_ptr<const Config> cfg;
  {
    std::lock_guard lock(mu_);
    if (!config_->routines.count(routine)) {
      return Status::NotFound("no backup routine named '" + routine + "'");
    }
    if (stopping_) return Status::Unavailable("absd is stopping");
    // This instance's own runs answer first, without touching the storage.
    auto& rt = routines_[routine];
    bool& starting = incremental ? rt.incremental_starting : rt.full_starting;
    if ((!incremental && rt.full) || (incremental && rt.incremental) || starting) {
      return StartBackupLocked(routine, incremental, delay_ms, false);
    }
    starting = true;
    cfg = config_;
  }
  // Other instances sharing the storage: at most one run of this slice at a time.
  auto run_lock = AcquireRunLock(*cfg, routine, incremental);
  std::lock_guard lock(mu_);
  auto& rt = routines_[routine];
  (incremental ? rt.incremental_starting : rt.full_starting) = false;
  if (!run_lock.ok()) {
    if (run_lock.status().code() == StatusCode::kConflict) {
      metrics_->BackupEvent(routine, incremental, jobs::Name(JobStatus::kSkip));
    }
    return run_lock.status();
  }
  if (!config_->routines.count(routine)) {
    return Status::NotFound("no backup routine named '" + routine + "'");
  }
  return StartBackupLocked(routine, incremental, delay_ms, false, std::move(run_lock).value());
}

Result<std::unique_ptr<RunLock>> Service::AcquireRunLock(const Config& cfg,
                                                         const std::string& routine,
                                                         bool incremental) {
  const RoutineConfig& r = cfg.routines.at(routine);
  ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(cfg.storage.at(r.storage)));
  std::string slice = SliceKey(r);
  std::string what = std::string(incremental ? "an incremental" : "a full") +
                     " backup of routine '" + routine + "'" +
                     (slice.empty() ? "" : " (" + ShortValue(slice) + ")");
  return RunLock::Acquire(storage, RunLockDirectory(routine, incremental, slice), what,
                          options_.run_lease_ms);
}

Status Service::StartBackupLocked(const std::string& routine, bool incremental, int64_t delay_ms,
                                  bool scheduled, std::unique_ptr<RunLock> lock) {
  if (stopping_) return Status::Unavailable("absd is stopping");
  const RoutineConfig& r = config_->routines.at(routine);
  const BackupPolicyConfig& policy = config_->PolicyOf(r);
  auto& rt = routines_[routine];
  std::string type = incremental ? "incremental" : "full";
  auto skip = [&](std::string why) {
    metrics_->BackupEvent(routine, incremental, jobs::Name(JobStatus::kSkip));
    return Status::Conflict(std::move(why));
  };
  if (scheduled && r.disabled) return Status::Ok();
  if ((incremental ? rt.incremental_starting : rt.full_starting)) {
    return skip(std::string(incremental ? "an incremental" : "a full") + " backup of routine '" +
                routine + "' is being started");
  }
  if (!incremental && rt.full) {
    return skip("a full backup of routine '" + routine + "' is already running");
  }
  if (incremental) {
    if (rt.incremental) {
      return skip("an incremental backup of routine '" + routine + "' is already running");
    }
    if (rt.full && !policy.concurrent_incremental) {
      return skip("a full backup of routine '" + routine +
                  "' is running (set concurrent-incremental to allow overlap)");
    }
    if (rt.last_full_ms == 0) {
      return skip("routine '" + routine + "' has no finished full backup yet");
    }
  }
  auto run = std::make_shared<BackupRun>();
  run->id = NewJobId();
  run->routine = routine;
  run->incremental = incremental;
  run->delay_ms = delay_ms;
  run->due_ms = options_.clock->UnixMillis() + delay_ms;
  run->config = config_;
  run->lock = std::move(lock);
  (incremental ? rt.incremental : rt.full) = run;
  if (delay_ms > 0) {
    ABS_LOG_INFO("{} backup of routine {} scheduled in {} ms (job {})", type, routine, delay_ms,
                 run->id);
  } else {
    run->begun = true;
    metrics_->BackupRunning(routine, incremental, true, 0);
    ABS_LOG_INFO("{} backup of routine {} starting (job {})", type, routine, run->id);
  }
  Launch([this, run] { backups_->Run(run); });
  return Status::Ok();
}

Status Service::CancelBackups(const std::string& routine) {
  std::lock_guard lock(mu_);
  if (!config_->routines.count(routine) && !routines_.count(routine)) {
    return Status::NotFound("no backup routine named '" + routine + "'");
  }
  auto& rt = routines_[routine];
  if (!rt.full && !rt.incremental) {
    return Status::NotFound("no backup of routine '" + routine + "' is running");
  }
  if (rt.full) rt.full->cancel = true;
  if (rt.incremental) rt.incremental->cancel = true;
  return Status::Ok();
}

void Service::ResumeInterruptedBackupsLocked(const std::vector<InterruptedBackup>& backups) {
  for (const auto& [job, run_dir] : backups) {
    bool incremental = job.type == JobType::kIncremental;
    auto& rt = routines_[job.routine];
    if (incremental ? rt.incremental : rt.full) continue;
    auto run = std::make_shared<BackupRun>();
    run->id = job.id;
    run->routine = job.routine;
    run->incremental = incremental;
    run->start_ms = job.started_ms;
    run->config = config_;
    run->resume_dir = run_dir;
    run->resume_detail = job.detail;
    run->begun = true;
    (incremental ? rt.incremental : rt.full) = run;
    metrics_->BackupRunning(job.routine, incremental, true, 0);
    ABS_LOG_INFO("{} backup of routine {} resumes from its checkpoints (job {}, {})",
                 jobs::Name(job.type), job.routine, job.id, run_dir);
    Launch([this, run] { backups_->Run(run); });
  }
}

}  // namespace absvc::service
