#include "service/restore_runner.h"

#include <set>

#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/periodic.h"
#include "common/text.h"
#include "jobs/retry.h"
#include "service/metrics.h"
#include "service/restore_planning.h"
#include "service/runs.h"
#include "wire/info.h"

namespace absvc::service {

using jobs::JobKind;
using jobs::JobRecord;

RestoreRunner::RestoreRunner(Clock& clock, jobs::JobStore& jobs, Metrics& metrics,
                             ClusterConnections& clusters, JobStorageOpener open_storage)
    : clock_(clock),
      jobs_(jobs),
      metrics_(metrics),
      clusters_(clusters),
      open_storage_(std::move(open_storage)) {}

Status RestoreRunner::Accept(const std::shared_ptr<RestoreRun>& run) {
  JobRecord job;
  job.id = run->id;
  job.kind = JobKind::kRestore;
  job.routine = run->request.routine;
  job.type = run->kind;
  job.status = JobStatus::kRunning;
  job.started_ms = run->start_ms;
  job.detail = {{"backup-data-path", run->request.backup_data_path},
                {"owner", Owner::Self().ToJson()}};
  ABS_RETURN_IF_ERROR(jobs_.Insert(job));
  std::lock_guard lock(mu_);
  running_[run->id] = run;
  CountRunningLocked();
  return Status::Ok();
}

void RestoreRunner::CountRunningLocked() {
  int running = 0;
  for (const auto& [id, r] : running_) {
    std::lock_guard rl(r->mu);
    running += r->status == JobStatus::kRunning;
  }
  metrics_.RestoresRunning(running);
}

void RestoreRunner::CancelAll() {
  std::lock_guard lock(mu_);
  for (auto& [id, r] : running_)
    r->cancel = true;
}

void RestoreRunner::Run(std::shared_ptr<RestoreRun> run) {
  const RestoreRequest& req = run->request;
  // The history holds the counters while the job runs, so a restore cut short by a kill
  // still says how far it got.
  Periodic progress_saver(std::chrono::seconds(2), [this, run] {
    JobRecord job;
    job.id = run->id;
    job.kind = JobKind::kRestore;
    job.status = JobStatus::kRunning;
    job.detail = RunJson(*run);
    job.detail["owner"] = Owner::Self().ToJson();
    (void)jobs_.Update(job);
  });
  Status result = [&]() -> Status {
    ABS_ASSIGN_OR_RETURN(auto storage, open_storage_(run->source, &run->cancel));
    std::shared_ptr<client::Client> client;
    if (run->destination_name.empty()) {
      ABS_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(run->destination));
      ABS_ASSIGN_OR_RETURN(auto c, client::Client::Connect(std::move(options)));
      client = std::shared_ptr<client::Client>(std::move(c));
    } else {
      ABS_ASSIGN_OR_RETURN(client, clusters_.ClientFor(run->destination_name, run->destination));
    }

    ABS_ASSIGN_OR_RETURN(RestoreJobPlan plan,
                         PlanRestoreJob(*storage, run->kind, req, run->routine_slice, run->notes,
                                        &run->total_records));
    restore::RestoredFiles restored;
    for (auto& step : plan.steps) {
      step.options.cancel = &run->cancel;
      step.options.restored_files = &restored;
    }
    for (const auto& w : run->notes.warnings)
      ABS_LOG_WARN("restore job {}: {}", run->id, w);
    // A failure that may pass (the network, a node, the storage) is retried; files
    // already restored whole are skipped, so a retry redoes at most the files in flight.
    jobs::RetryPolicy retry{
        .base_ms = 1000, .multiplier = 2, .max_delay_ms = 30000, .max_retries = 4};
    return jobs::RunAttempts(
        clock_, retry, run->cancel,
        [&](int64_t) {
          for (const auto& ps : plan.steps) {
            Status st =
                restore::RunPlannedRestore(*client, *storage, ps.options, ps.plan, run->counters)
                    .WithContext(ps.dir);
            if (!st.ok()) return st;
          }
          return Status::Ok();
        },
        [](const Status& st) { return storage::IsTransient(st); },
        [&](int64_t n, int64_t delay, const Status& failure) {
          ABS_LOG_WARN(
              "restore job {} failed, retry {} in {} ms ({} files are restored and will be "
              "skipped): {}",
              run->id, n, delay, restored.size(), failure.ToString());
        });
  }();
  JobStatus status = result.ok()                               ? JobStatus::kSuccess
                     : result.code() == StatusCode::kCancelled ? JobStatus::kCanceled
                                                               : JobStatus::kFailure;
  progress_saver.Stop();
  run->finish_ms = UnixNowMillis();
  {
    std::lock_guard lock(run->mu);
    run->status = status;
    if (!result.ok()) run->error = ShortError(result);
  }
  if (result.ok()) {
    ABS_LOG_INFO("restore job {} finished: {} records read", run->id, run->counters.read.load());
  } else {
    ABS_LOG_ERROR("restore job {} {}: {}", run->id, jobs::Name(status), result.ToString());
  }
  metrics_.RestoreEvent(status, run->counters.read, run->counters.bytes);
  JobRecord job;
  job.id = run->id;
  job.kind = JobKind::kRestore;
  job.status = status;
  job.finished_ms = run->finish_ms;
  job.detail = RunJson(*run);
  Status saved = jobs_.Update(job);
  if (!saved.ok()) ABS_LOG_ERROR("{}", saved.ToString());
  std::lock_guard lock(mu_);
  // Finished jobs are served from the history; memory holds only running ones.
  if (saved.ok()) running_.erase(run->id);
  CountRunningLocked();
}

Json RestoreRunner::RunJson(const RestoreRun& r) const {
  const auto& c = r.counters;
  Json j;
  {
    std::lock_guard lock(const_cast<RestoreRun&>(r).mu);
    j["status"] = jobs::Name(r.status);
    if (!r.error.empty()) j["error"] = r.error;
  }
  j["read-records"] = c.read.load();
  j["total-bytes"] = c.bytes.load();
  j["inserted-records"] = c.inserted.load();
  j["existed-records"] = c.existed.load();
  j["fresher-records"] = c.fresher.load();
  j["skipped-records"] = c.skipped.load();
  j["expired-records"] = c.expired.load();
  j["ignored-records"] = c.ignored.load();
  j["failed-records"] = c.failed.load();
  j["index-count"] = c.index_count.load();
  j["udf-count"] = c.udf_count.load();
  j["errors-in-doubt"] = 0;
  {
    std::lock_guard lock(const_cast<RestoreRun&>(r).notes.mu);
    if (!r.notes.warnings.empty()) j["warnings"] = r.notes.warnings;
    if (r.request.policy.salvage) j["skipped"] = r.notes.skipped;
  }
  int64_t now = r.finish_ms ? r.finish_ms.load() : UnixNowMillis();
  double elapsed_s = std::max(0.001, static_cast<double>(now - r.start_ms) / 1000.0);
  uint64_t done = c.read.load(), total = std::max<uint64_t>(r.total_records.load(), done);
  Json cur;
  cur["total-records"] = total;
  cur["done-records"] = done;
  cur["percentage-done"] =
      total ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 0;
  cur["start-time"] = backupset::FormatRfc3339Millis(r.start_ms);
  if (r.finish_ms) cur["finish-time"] = backupset::FormatRfc3339Millis(r.finish_ms);
  cur["duration"] = static_cast<int64_t>(elapsed_s);
  cur["metrics"] = {
      {"records-per-second", static_cast<uint64_t>(static_cast<double>(done) / elapsed_s)},
      {"kilobytes-per-second",
       static_cast<uint64_t>(static_cast<double>(c.bytes.load()) / 1024.0 / elapsed_s)},
      {"pipeline", 0}};
  j["current-job"] = cur;
  return j;
}

Result<Json> RestoreRunner::StatusOf(int64_t id) {
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) return RunJson(*it->second);
  }
  ABS_ASSIGN_OR_RETURN(auto job, jobs_.Get(id));
  if (!job || job->kind != JobKind::kRestore) {
    return Status::NotFound("no restore job " + std::to_string(id));
  }
  Json j = job->detail;
  j["status"] = jobs::Name(job->status);
  return j;
}

Result<Json> RestoreRunner::Jobs(int64_t from_ms, int64_t to_ms, const std::string& filter) {
  std::set<std::string> include, exclude;
  for (auto part : wire::SplitList(filter, ',')) {
    std::string s(part);
    bool neg = !s.empty() && s[0] == '!';
    if (neg) s = s.substr(1);
    for (auto& ch : s)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (s == "done") s = "success";
    if (s == "failed") s = "failure";
    if (s == "cancelled") s = "canceled";
    if (s.empty()) continue;
    auto parsed = jobs::ParseJobStatus(s);
    if (!parsed || *parsed == JobStatus::kSkip) {
      return Status::InvalidArgument("status: unknown job status '" + s + "'");
    }
    (neg ? exclude : include).insert(s);
  }
  ABS_ASSIGN_OR_RETURN(auto rows, jobs_.List(JobKind::kRestore, from_ms, to_ms));
  Json out = Json::object();
  for (const auto& row : rows) {
    // Running jobs report live counters; finished ones what the history holds.
    Json status;
    {
      std::lock_guard lock(mu_);
      auto it = running_.find(row.id);
      if (it != running_.end()) status = RunJson(*it->second);
    }
    if (status.is_null()) {
      status = row.detail.is_object() ? row.detail : Json::object();
      status["status"] = jobs::Name(row.status);
    }
    std::string s = status["status"].get<std::string>();
    if (!include.empty() && !include.count(s)) continue;
    if (exclude.count(s)) continue;
    out[std::to_string(row.id)] = std::move(status);
  }
  return out;
}

Status RestoreRunner::Cancel(int64_t id) {
  // Cancelling a job that has finished changes nothing and succeeds, as in ABS: a client
  // (the Kubernetes operator deleting its restore) cancels whatever the job's state.
  std::lock_guard lock(mu_);
  auto it = running_.find(id);
  if (it == running_.end()) {
    auto job = jobs_.Get(id);
    if (job.ok() && *job && (*job)->kind == JobKind::kRestore) return Status::Ok();
    return Status::NotFound("no restore job " + std::to_string(id));
  }
  {
    std::lock_guard rl(it->second->mu);
    if (it->second->status != JobStatus::kRunning) return Status::Ok();
  }
  it->second->cancel = true;
  return Status::Ok();
}

}  // namespace absvc::service
