// Restore jobs: accepting a request, planning every backup it names before the first
// write, running them (retrying what may pass, skipping files restored whole), and
// their status views.
#include <set>

#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/periodic.h"
#include "common/text.h"
#include "jobs/retry.h"
#include "service/metrics.h"
#include "service/runs.h"
#include "service/service.h"
#include "wire/info.h"

namespace absvc::service {
namespace {

// The engine's options for restoring one backup directory. The codec is as the request
// says, else as the backup's metadata.yaml says.
Result<restore::RestoreOptions> RestoreOptionsFor(
    const RestorePolicyConfig& p, const std::string& dir,
    const std::map<std::string, backupset::BackupMetadata>& metadata) {
  restore::RestoreOptions o;
  o.directories = {dir};
  o.parallel = static_cast<int>(p.parallel);
  o.batch_size = static_cast<size_t>(p.batch_size);
  o.max_async_batches = static_cast<size_t>(p.max_async_batches);
  o.disable_batch_writes = p.disable_batch_writes;
  o.policy.replace = p.replace;
  o.policy.unique = p.unique;
  o.policy.no_generation = p.no_generation;
  o.extra_ttl = static_cast<uint32_t>(p.extra_ttl);
  o.namespace_source = p.namespace_source;
  o.namespace_destination = p.namespace_destination;
  o.sets = p.set_list;
  o.bins = p.bin_list;
  o.records_per_second = static_cast<uint64_t>(p.tps);
  o.bandwidth_bytes_per_second = static_cast<uint64_t>(p.bandwidth_mib) << 20;
  o.no_records = p.no_records;
  o.no_indexes = p.no_indexes;
  o.no_udfs = p.no_udfs;
  o.salvage = p.salvage;
  std::string compression = p.compression, encryption = p.encryption;
  if (auto meta = metadata.find(dir); meta != metadata.end()) {
    if (compression.empty()) compression = meta->second.compression;
    if (encryption.empty()) encryption = meta->second.encryption;
  }
  ABS_ASSIGN_OR_RETURN(o.codec.compression,
                       storage::ParseCompression(compression.empty() ? "NONE" : compression));
  ABS_ASSIGN_OR_RETURN(o.codec.encryption,
                       storage::ParseEncryption(encryption.empty() ? "NONE" : encryption));
  if (o.codec.encryption != storage::Encryption::kNone) {
    if (p.key_file.empty() && p.key_env.empty()) {
      return Status::InvalidArgument(dir + " is encrypted (" + encryption +
                                     "); give policy.encryption with key-file or key-env");
    }
    ABS_ASSIGN_OR_RETURN(o.codec.key,
                         storage::LoadEncryptionKey(p.key_file, p.key_env, o.codec.encryption));
  }
  return o;
}

}  // namespace

Result<int64_t> Service::StartRestore(const Json& body, const std::string& kind) {
  ABS_ASSIGN_OR_RETURN(RestoreRequest req, ParseRestoreRequest(body, kind == "timestamp"));
  auto cfg = config();
  if (!req.source_name.empty() && !cfg->storage.count(req.source_name)) {
    return Status::NotFound("no storage named '" + req.source_name + "'");
  }
  if (!req.destination_name.empty() && !cfg->clusters.count(req.destination_name)) {
    return Status::NotFound("no cluster named '" + req.destination_name + "'");
  }
  if (kind == "timestamp") {
    bool inline_both = req.source && req.destination;
    if (!inline_both && !cfg->routines.count(req.routine)) {
      return Status::NotFound("no backup routine named '" + req.routine + "'");
    }
    if (!ValidateEntityName(req.routine).ok()) {
      return Status::InvalidArgument("routine: not a valid name");
    }
  } else {
    Status st = storage::ValidateRelativePath(req.backup_data_path);
    if (!st.ok()) {
      return Status::InvalidArgument("backup-data-path: " + st.message());
    }
  }
  // A restore into a cluster is refused while a backup reads it.
  std::string dest_cluster = req.destination_name;
  if (dest_cluster.empty() && !req.destination && cfg->routines.count(req.routine)) {
    dest_cluster = cfg->routines.at(req.routine).source_cluster;
  }
  auto run = std::make_shared<RestoreRun>();
  if (req.source) {
    run->source = *req.source;
  } else if (!req.source_name.empty()) {
    run->source = cfg->storage.at(req.source_name);
  } else {
    run->source = cfg->storage.at(cfg->routines.at(req.routine).storage);
  }
  if (req.destination) {
    run->destination = *req.destination;
  } else {
    run->destination_name = !req.destination_name.empty()
                                ? req.destination_name
                                : cfg->routines.at(req.routine).source_cluster;
    run->destination = cfg->clusters.at(run->destination_name);
  }
  if (cfg->routines.count(req.routine))
    run->routine_slice = SliceKey(cfg->routines.at(req.routine));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("absd is stopping");
    for (const auto& [name, rt] : routines_) {
      auto it = config_->routines.find(name);
      if (it != config_->routines.end() && !dest_cluster.empty() &&
          it->second.source_cluster == dest_cluster && (rt.full || rt.incremental)) {
        return Status::Conflict("routine '" + name + "' is backing up cluster '" + dest_cluster +
                                "'; restore when it has finished");
      }
    }
    run->id = NewJobId();
    run->kind = kind;
    run->request = std::move(req);
    run->start_ms = UnixNowMillis();
    // Recorded before it is visible, so a job is never shown that the history lacks.
    JobRecord job;
    job.id = run->id;
    job.kind = JobKind::kRestore;
    job.routine = run->request.routine;
    job.type = *jobs::ParseJobType(kind);  // kind was checked: full, incremental or timestamp
    job.status = JobStatus::kRunning;
    job.started_ms = run->start_ms;
    job.detail = {{"backup-data-path", run->request.backup_data_path},
                  {"owner", Owner::Self().ToJson()}};
    ABS_RETURN_IF_ERROR(jobs_->Insert(job));
    restores_[run->id] = run;
    metrics_->RestoresRunning(static_cast<int>(restores_.size()));
  }
  Launch([this, run] { RunRestore(run); });
  return run->id;
}

void Service::RunRestore(std::shared_ptr<RestoreRun> run) {
  const RestoreRequest& req = run->request;
  // The history holds the counters while the job runs, so a restore cut short by a kill
  // still says how far it got.
  Periodic progress_saver(std::chrono::seconds(2), [this, run] {
    JobRecord job;
    job.id = run->id;
    job.kind = JobKind::kRestore;
    job.status = JobStatus::kRunning;
    job.detail = RestoreRunJson(*run);
    job.detail["owner"] = Owner::Self().ToJson();
    (void)jobs_->Update(job);
  });
  Status result = [&]() -> Status {
    ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(run->source));
    std::shared_ptr<client::Client> client;
    if (run->destination_name.empty()) {
      ABS_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(run->destination));
      ABS_ASSIGN_OR_RETURN(auto c, client::Client::Connect(std::move(options)));
      client = std::shared_ptr<client::Client>(std::move(c));
    } else {
      ABS_ASSIGN_OR_RETURN(client, clusters_.ClientFor(run->destination_name, run->destination));
    }

    // Which backup directories, in the order they must be applied.
    std::vector<std::vector<std::string>> steps;
    if (run->kind == "timestamp") {
      ABS_ASSIGN_OR_RETURN(auto fulls, backupset::ListBackups(*storage, req.routine, false));
      ABS_ASSIGN_OR_RETURN(auto incrs, backupset::ListBackups(*storage, req.routine, true));
      // Per namespace, of this instance's slice: parallel instances each restore theirs.
      std::map<std::string, const backupset::BackupEntry*> latest_full;
      for (const auto& e : fulls) {
        if (e.slice == run->routine_slice && e.timestamp_ms <= req.time_ms) {
          latest_full[e.metadata.ns] = &e;
        }
      }
      if (latest_full.empty()) {
        return Status::NotFound("routine '" + req.routine + "' has no full backup before " +
                                backupset::FormatRfc3339Millis(req.time_ms));
      }
      std::vector<std::string> full_dirs;
      for (const auto& [ns, e] : latest_full)
        full_dirs.push_back(e->key);
      steps.push_back(full_dirs);
      std::map<int64_t, std::vector<std::string>> incr_steps;
      for (const auto& e : incrs) {
        auto f = latest_full.find(e.metadata.ns);
        if (f == latest_full.end()) continue;
        if (e.slice == run->routine_slice && e.timestamp_ms > f->second->timestamp_ms &&
            e.timestamp_ms <= req.time_ms) {
          incr_steps[e.timestamp_ms].push_back(e.key);
        }
      }
      for (auto& [ts, dirs] : incr_steps)
        steps.push_back(dirs);
    } else {
      std::string path = req.backup_data_path;
      while (!path.empty() && path.back() == '/')
        path.pop_back();
      ABS_ASSIGN_OR_RETURN(auto objects, storage->List(path));
      // Every backup directory below the path, finished or not: an unfinished one must
      // fail the plan (or be salvaged), not vanish from the restore unnoticed.
      std::set<std::string> dirs;
      for (const auto& o : objects) {
        std::string name = storage::BaseName(o.path);
        if (name == backupset::kMetadataFile || name == backupset::kStartFile ||
            name == backupset::kManifestFile ||
            (name.size() > 4 && name.compare(name.size() - 4, 4, ".asb") == 0)) {
          dirs.insert(storage::DirName(o.path));
        }
      }
      if (dirs.empty()) {
        return Status::NotFound("no backup under '" + ShortValue(req.backup_data_path) + "'");
      }
      steps.push_back({dirs.begin(), dirs.end()});
    }
    // Each backup's metadata.yaml, read once: its record count sizes the job, its codec
    // is the default for reading it.
    std::map<std::string, backupset::BackupMetadata> metadata;
    uint64_t total = 0;
    for (const auto& step : steps) {
      for (const auto& d : step) {
        auto text = storage->ReadAll(d + "/" + backupset::kMetadataFile);
        if (!text.ok()) continue;
        auto meta = backupset::ParseMetadataYaml(*text);
        if (!meta.ok()) continue;
        total += meta->record_count;
        metadata[d] = *meta;
      }
    }
    run->total_records = total;

    // Every backup is planned (and a damaged or unfinished one refused) before the first
    // record is written.
    struct PlannedStep {
      std::string dir;
      restore::RestoreOptions options;
      restore::RestorePlan plan;
    };
    std::vector<PlannedStep> planned;
    restore::RestoredFiles restored;
    for (const auto& step : steps) {
      for (const auto& dir : step) {
        PlannedStep ps;
        ps.dir = dir;
        ABS_ASSIGN_OR_RETURN(ps.options, RestoreOptionsFor(req.policy, dir, metadata));
        ps.options.cancel = &run->cancel;
        ps.options.restored_files = &restored;
        ABS_ASSIGN_OR_RETURN(ps.plan, restore::PrepareRestore(*storage, ps.options));
        run->notes.Add(ps.plan);
        planned.push_back(std::move(ps));
      }
    }
    for (const auto& w : run->notes.warnings)
      ABS_LOG_WARN("restore job {}: {}", run->id, w);
    // A failure that may pass (the network, a node, the storage) is retried; files
    // already restored whole are skipped, so a retry redoes at most the files in flight.
    jobs::RetryPolicy retry{
        .base_ms = 1000, .multiplier = 2, .max_delay_ms = 30000, .max_retries = 4};
    return jobs::RunAttempts(
        *options_.clock, retry, run->cancel,
        [&](int64_t) {
          for (const auto& ps : planned) {
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
  metrics_->RestoreEvent(status, run->counters.read, run->counters.bytes);
  JobRecord job;
  job.id = run->id;
  job.kind = JobKind::kRestore;
  job.status = status;
  job.finished_ms = run->finish_ms;
  job.detail = RestoreRunJson(*run);
  Status saved = jobs_->Update(job);
  if (!saved.ok()) ABS_LOG_ERROR("{}", saved.ToString());
  std::lock_guard lock(mu_);
  // Finished jobs are served from the history; memory holds only running ones.
  if (saved.ok()) restores_.erase(run->id);
  int running = 0;
  for (const auto& [id, r] : restores_) {
    std::lock_guard rl(r->mu);
    running += r->status == JobStatus::kRunning;
  }
  metrics_->RestoresRunning(running);
}

Json Service::RestoreRunJson(const RestoreRun& r) const {
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

Result<Json> Service::RestoreStatus(int64_t id) {
  {
    std::lock_guard lock(mu_);
    auto it = restores_.find(id);
    if (it != restores_.end()) return RestoreRunJson(*it->second);
  }
  ABS_ASSIGN_OR_RETURN(auto job, jobs_->Get(id));
  if (!job || job->kind != JobKind::kRestore) {
    return Status::NotFound("no restore job " + std::to_string(id));
  }
  Json j = job->detail;
  j["status"] = jobs::Name(job->status);
  return j;
}

Result<Json> Service::RestoreJobs(int64_t from_ms, int64_t to_ms, const std::string& filter) {
  // "running,done" / "!failed": case-insensitive, done = success, failed = failure.
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
  ABS_ASSIGN_OR_RETURN(auto rows, jobs_->List(JobKind::kRestore, from_ms, to_ms));
  Json out = Json::object();
  for (const auto& row : rows) {
    // Running jobs report live counters; finished ones what the history holds.
    Json status;
    {
      std::lock_guard lock(mu_);
      auto it = restores_.find(row.id);
      if (it != restores_.end()) status = RestoreRunJson(*it->second);
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

Status Service::CancelRestore(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = restores_.find(id);
  if (it == restores_.end()) {
    auto job = jobs_->Get(id);
    if (job.ok() && *job && (*job)->kind == JobKind::kRestore) {
      return Status::Conflict("restore job " + std::to_string(id) + " is not running");
    }
    return Status::NotFound("no restore job " + std::to_string(id));
  }
  {
    std::lock_guard rl(it->second->mu);
    if (it->second->status != JobStatus::kRunning) {
      return Status::Conflict("restore job " + std::to_string(id) + " is not running");
    }
  }
  it->second->cancel = true;
  return Status::Ok();
}

}  // namespace absvc::service
