#include "service/service.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "backup/cluster_configuration.h"
#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/memory_budget.h"
#include "common/periodic.h"
#include "common/text.h"
#include "common/zip.h"
#include "config/legacy.h"
#include "service/backup_runner.h"
#include "service/clusters.h"
#include "service/metrics.h"
#include "service/restore_runner.h"
#include "service/runs.h"
#include "wire/info.h"

namespace absvc::service {

std::string SliceKey(const RoutineConfig& r) {
  return backupset::SliceKey(r.partition_list, r.node_list, r.rack_list);
}

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kUnsupported:
      return 501;
    case StatusCode::kUnavailable:
    case StatusCode::kNetwork:
    case StatusCode::kTimeout:
      return 503;
    default:
      return 500;
  }
}

// ---------------------------------------------------------------- service

Service::Service(ServiceOptions options, Config config, std::unique_ptr<JobStore> jobs)
    : options_(std::move(options)),
      jobs_(std::move(jobs)),
      metrics_(std::make_unique<Metrics>()),
      config_(std::make_shared<const Config>(std::move(config))),
      restores_(std::make_unique<RestoreRunner>(
          *options_.clock, *jobs_, *metrics_, clusters_,
          [this](const StorageConfig& s, const std::atomic<bool>* cancel) {
            return OpenStorage(s, true, cancel);
          })) {
  ProcessMemoryBudget()->set_limit(static_cast<uint64_t>(config_->service.memory_budget_mib) << 20);
  BackupRunner::Hooks hooks;
  hooks.acquire_lock = [this](const Config& cfg, const std::string& routine, bool incremental) {
    return AcquireRunLock(cfg, routine, incremental);
  };
  hooks.incremental_base_ms = [this](const std::string& routine, bool cumulative) {
    std::lock_guard lock(mu_);
    const auto& rt = routines_[routine];
    return cumulative ? rt.last_full_ms : std::max(rt.last_full_ms, rt.last_incremental_ms);
  };
  hooks.finished = [this](const std::shared_ptr<BackupRun>& run, bool succeeded) {
    std::lock_guard lock(mu_);
    auto& rt = routines_[run->routine];
    if (succeeded) {
      (run->incremental ? rt.last_incremental_ms : rt.last_full_ms) = run->start_ms;
    }
    auto& slot = run->incremental ? rt.incremental : rt.full;
    if (slot == run) slot.reset();
  };
  backups_ = std::make_unique<BackupRunner>(
      *options_.clock, options_.run_lease_ms, *jobs_, *metrics_, clusters_,
      [this](const StorageConfig& s, const std::atomic<bool>* cancel) {
        return OpenStorage(s, true, cancel);
      },
      std::move(hooks));
}

Result<std::unique_ptr<Service>> Service::Create(ServiceOptions options, Config config) {
  ABS_ASSIGN_OR_RETURN(auto jobs, JobStore::Open(options.state_dir));
  return std::unique_ptr<Service>(
      new Service(std::move(options), std::move(config), std::move(jobs)));
}

Service::~Service() {
  Stop();
  // Job threads use this object: none may outlive it.
  std::unique_lock lock(threads_mu_);
  threads_cv_.wait(lock, [&] { return active_threads_ == 0; });
}

Status Service::Start() {
  // Interrupted backups become this instance's again before abandoned runs are looked
  // for, so they are not taken for abandoned.
  auto cfg = config();
  CrashRecovery recovery(*jobs_, options_.run_lease_ms,
                         [this](const StorageConfig& s) { return OpenStorage(s); });
  auto resumable = recovery.Reclaim(*cfg, recovery.RecoverInterruptedJobs(*cfg));
  recovery.RemoveAbandonedRuns(*cfg);
  {
    std::lock_guard lock(mu_);
    // Last successes come from storage, so a restart keeps "no incremental before a full".
    for (const auto& [name, r] : config_->routines) {
      auto& rt = routines_[name];
      auto st = config_->storage.find(r.storage);
      if (st == config_->storage.end()) continue;
      auto storage = OpenStorage(st->second);
      if (!storage.ok()) continue;
      // The run's start (its directory name), not one namespace's start: an incremental
      // from there misses nothing. Only runs of this instance's slice count.
      std::string slice = SliceKey(r);
      auto fulls = backupset::ListBackups(**storage, name, false);
      if (fulls.ok()) {
        for (const auto& e : *fulls) {
          if (e.slice == slice) rt.last_full_ms = std::max(rt.last_full_ms, e.timestamp_ms);
        }
      }
      auto incrs = backupset::ListBackups(**storage, name, true);
      if (incrs.ok()) {
        for (const auto& e : *incrs) {
          if (e.slice == slice) {
            rt.last_incremental_ms = std::max(rt.last_incremental_ms, e.timestamp_ms);
          }
        }
      }
    }
    schedule_.Update(*config_, options_.clock->UnixMillis());
    ResumeInterruptedBackupsLocked(resumable);
  }
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  return Status::Ok();
}

bool Service::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !scheduler_.joinable()) return true;
    stopping_ = true;
    for (auto& [name, rt] : routines_) {
      for (const auto& run : {rt.full, rt.incremental}) {
        if (!run) continue;
        run->keep_work = true;  // before the cancel, which the run may see at once
        run->cancel = true;
      }
    }
  }
  restores_->CancelAll();
  scheduler_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  std::unique_lock lock(threads_mu_);
  if (!threads_cv_.wait_for(lock, std::chrono::milliseconds(options_.stop_timeout_ms),
                            [&] { return active_threads_ == 0; })) {
    ABS_LOG_WARN("{} jobs did not stop within {} ms; they resume at the next start",
                 active_threads_, options_.stop_timeout_ms);
    return false;
  }
  return true;
}

void Service::Launch(std::function<void()> fn) {
  {
    std::lock_guard lock(threads_mu_);
    ++active_threads_;
  }
  auto body = [this, fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& e) {
      ABS_LOG_ERROR("job thread failed: {}", e.what());
    } catch (...) {
      ABS_LOG_ERROR("job thread failed");
    }
    std::lock_guard lock(threads_mu_);
    --active_threads_;
    threads_cv_.notify_all();
  };
  try {
    std::thread(std::move(body)).detach();
  } catch (const std::system_error& e) {
    ABS_LOG_ERROR("cannot start a job thread: {}", e.what());
    std::lock_guard lock(threads_mu_);
    --active_threads_;
    threads_cv_.notify_all();
  }
}

Result<int64_t> Service::StartRestore(const Json& body, const std::string& kind) {
  auto type = jobs::ParseJobType(kind);
  if (!type) return Status::InvalidArgument("unknown restore kind '" + ShortValue(kind) + "'");
  auto cfg = config();
  ABS_ASSIGN_OR_RETURN(RestoreRequest req,
                       ParseRestoreRequest(body, *type == JobType::kTimestamp, cfg->secret_agents));
  // A request naming what is not configured is a bad request (400, as ABS answers it): a
  // client such as the Kubernetes operator gives up on a 400 and retries anything else.
  if (!req.source_name.empty() && !cfg->storage.count(req.source_name)) {
    return Status::InvalidArgument("source-name: no storage named '" + req.source_name + "'");
  }
  if (!req.destination_name.empty() && !cfg->clusters.count(req.destination_name)) {
    return Status::InvalidArgument("destination-name: no cluster named '" + req.destination_name +
                                   "'");
  }
  if (*type == JobType::kTimestamp) {
    bool inline_both = req.source && req.destination;
    if (!inline_both && !cfg->routines.count(req.routine)) {
      return Status::InvalidArgument("routine: no backup routine named '" + req.routine + "'");
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
      // Only runs under way conflict: a delayed trigger is scheduled, not running.
      bool running = (rt.full && rt.full->begun) || (rt.incremental && rt.incremental->begun);
      if (it != config_->routines.end() && !dest_cluster.empty() &&
          it->second.source_cluster == dest_cluster && running) {
        return Status::Conflict("routine '" + name + "' is backing up cluster '" + dest_cluster +
                                "'; restore when it has finished");
      }
    }
    run->id = NewJobId();
    run->kind = *type;
    for (const auto& w : req.warnings)
      ABS_LOG_WARN("restore job {}: {}", run->id, w);
    run->request = std::move(req);
    run->start_ms = UnixNowMillis();
    ABS_RETURN_IF_ERROR(restores_->Accept(run));
  }
  Launch([this, run] { restores_->Run(run); });
  return run->id;
}

Result<Json> Service::RestoreStatus(int64_t id) {
  return restores_->StatusOf(id);
}

Result<Json> Service::RestoreJobs(int64_t from_ms, int64_t to_ms, const std::string& filter) {
  return restores_->Jobs(from_ms, to_ms, filter);
}

Status Service::CancelRestore(int64_t id) {
  return restores_->Cancel(id);
}

std::shared_ptr<const Config> Service::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

Status Service::ApplyLocked(Config cfg) {
  for (const auto& w : cfg.warnings)
    ABS_LOG_WARN("configuration: {}", w);
  config_ = std::make_shared<const Config>(std::move(cfg));
  ProcessMemoryBudget()->set_limit(static_cast<uint64_t>(config_->service.memory_budget_mib) << 20);
  // Routines that disappeared or got disabled: their running jobs are cancelled.
  for (auto& [name, rt] : routines_) {
    auto it = config_->routines.find(name);
    if (it == config_->routines.end() || it->second.disabled) {
      if (rt.full) rt.full->cancel = true;
      if (rt.incremental) rt.incremental->cancel = true;
    }
  }
  schedule_.Update(*config_, options_.clock->UnixMillis());
  scheduler_cv_.notify_all();
  return Status::Ok();
}

Status Service::EditConfig(const std::function<Status(Json&)>& edit) {
  // One writer at a time, so concurrent edits cannot lose each other; parsing (which may
  // read password files) and saving happen outside mu_, so the API and the scheduler
  // never wait on them.
  std::lock_guard writer(config_write_mu_);
  Json doc = config()->document;
  ABS_RETURN_IF_ERROR(edit(doc));
  ABS_ASSIGN_OR_RETURN(Config cfg, ParseConfig(doc));
  if (options_.config_source) {
    ABS_RETURN_IF_ERROR(options_.config_source->Save(cfg.document));
  } else if (!options_.config_path.empty()) {
    ABS_RETURN_IF_ERROR(SaveConfigFile(options_.config_path, cfg.document));
  }
  std::lock_guard lock(mu_);
  return ApplyLocked(std::move(cfg));
}

Status Service::ReplaceConfig(const Json& document) {
  // A whole configuration replaces the one in force: anything else (null, a list, a
  // string) is refused, never taken for "no configuration".
  if (!document.is_object()) {
    return Status::InvalidArgument("a configuration must be a JSON object, got " +
                                   std::string(document.type_name()));
  }
  return EditConfig([&](Json& doc) {
    doc = KeepStoredSecrets(document, doc);
    return Status::Ok();
  });
}

Status Service::ReloadConfigFile() {
  if (!options_.config_source && options_.config_path.empty()) {
    return Status::InvalidArgument("no configuration file");
  }
  std::lock_guard writer(config_write_mu_);
  ABS_ASSIGN_OR_RETURN(Config cfg, options_.config_source ? options_.config_source->Load()
                                                          : LoadConfigFile(options_.config_path));
  std::lock_guard lock(mu_);
  return ApplyLocked(std::move(cfg));
}

Result<std::shared_ptr<storage::Storage>> Service::OpenStorage(const StorageConfig& s, bool retries,
                                                               const std::atomic<bool>* cancel) {
  storage::OpenOptions options;
  options.stats = storage_stats_;
  options.retries = retries;
  options.cancel = cancel;
  ABS_ASSIGN_OR_RETURN(auto st, storage::OpenStorage(s, options));
  return std::shared_ptr<storage::Storage>(std::move(st));
}

// ---------------------------------------------------------------- backups: running and listed

static Json RunningJobJson(BackupRun& run, int64_t now) {
  uint64_t done = 0, total = 0, bytes = 0;
  {
    std::lock_guard lock(run.mu);
    for (const auto& p : run.progress) {
      done += p->records;
      total += p->estimated_records;
      bytes += p->bytes;
    }
  }
  total = std::max(total, done);
  int64_t start = run.start_ms.load() ? run.start_ms.load() : now;
  double elapsed_s = std::max(0.001, static_cast<double>(now - start) / 1000.0);
  double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0.0;
  Json j;
  j["total-records"] = total;
  j["done-records"] = done;
  j["percentage-done"] = static_cast<int>(pct);
  j["start-time"] = backupset::FormatRfc3339Millis(start);
  j["duration"] = static_cast<int64_t>(elapsed_s);
  if (pct >= 1.0 && done > 0) {
    double remaining_s = elapsed_s * static_cast<double>(total - done) / static_cast<double>(done);
    j["estimated-end-time"] =
        backupset::FormatRfc3339Millis(now + static_cast<int64_t>(remaining_s * 1000));
  }
  j["metrics"] = {
      {"records-per-second", static_cast<uint64_t>(static_cast<double>(done) / elapsed_s)},
      {"kilobytes-per-second",
       static_cast<uint64_t>(static_cast<double>(bytes) / 1024.0 / elapsed_s)},
      {"pipeline", 0}};
  return j;
}

Result<Json> Service::CurrentBackup(const std::string& routine) {
  std::lock_guard lock(mu_);
  if (!config_->routines.count(routine)) {
    return Status::NotFound("no backup routine named '" + routine + "'");
  }
  auto& rt = routines_[routine];
  Json j = Json::object();
  // A delayed trigger is the routine's next backup (when it falls before the schedule's),
  // not a running one.
  int64_t next_full = schedule_.NextFullMs(routine);
  int64_t next_incremental = schedule_.NextIncrementalMs(routine);
  auto scheduled_at = [](const std::shared_ptr<BackupRun>& run, int64_t next) {
    return next == 0 ? run->due_ms : std::min(next, run->due_ms);
  };
  if (rt.full && rt.full->begun) {
    j["full"] = RunningJobJson(*rt.full, options_.clock->UnixMillis());
  } else if (rt.full) {
    next_full = scheduled_at(rt.full, next_full);
  }
  if (rt.incremental && rt.incremental->begun) {
    j["incremental"] = RunningJobJson(*rt.incremental, options_.clock->UnixMillis());
  } else if (rt.incremental) {
    next_incremental = scheduled_at(rt.incremental, next_incremental);
  }
  if (rt.last_full_ms) j["last-full"] = backupset::FormatRfc3339Millis(rt.last_full_ms);
  if (rt.last_incremental_ms) {
    j["last-incremental"] = backupset::FormatRfc3339Millis(rt.last_incremental_ms);
  }
  if (next_full) j["next-full"] = backupset::FormatRfc3339Millis(next_full);
  if (next_incremental) j["next-incremental"] = backupset::FormatRfc3339Millis(next_incremental);
  return j;
}

Result<Json> Service::Coverage(const std::string& routine, const CoverageQuery& query) {
  auto cfg = config();
  auto r = cfg->routines.find(routine);
  if (r == cfg->routines.end())
    return Status::NotFound("no backup routine named '" + routine + "'");
  ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(cfg->storage.at(r->second.storage)));
  ABS_ASSIGN_OR_RETURN(
      Json out, RoutineCoverage(*storage, routine, query, UnixNowMillis(), options_.run_lease_ms));
  // What this instance reads of the cluster, as its runs record it.
  out["instance-slice"] = SliceKey(r->second);
  if (r->second.auto_slice) {
    out["auto-slice"] = {{"index", r->second.auto_slice->first},
                         {"count", r->second.auto_slice->second}};
  }
  return out;
}

Result<Json> Service::BackupJobs(int64_t from_ms, int64_t to_ms, int64_t limit) {
  ABS_ASSIGN_OR_RETURN(auto rows, jobs_->List(JobKind::kBackup, from_ms, to_ms));
  Json out = Json::object();
  int64_t skip = std::max<int64_t>(0, static_cast<int64_t>(rows.size()) - limit);
  for (const auto& row : rows) {  // oldest first
    if (skip > 0) {
      --skip;
      continue;
    }
    const Json& d = row.detail;
    Json j = {{"routine", row.routine},
              {"type", jobs::Name(row.type)},
              {"status", jobs::Name(row.status)},
              {"start-time", backupset::FormatRfc3339Millis(row.started_ms)}};
    if (row.finished_ms) {
      j["finish-time"] = backupset::FormatRfc3339Millis(row.finished_ms);
      j["duration"] = (row.finished_ms - row.started_ms) / 1000;
    }
    for (const char* k : {"record-count", "byte-count", "run-directory", "resumed", "error"}) {
      if (d.is_object() && d.contains(k)) j[k] = d[k];
    }
    out[std::to_string(row.id)] = std::move(j);
  }
  return out;
}

Result<std::string> Service::ClusterConfigurationArchive(const std::string& routine,
                                                         int64_t time_ms) {
  auto cfg = config();
  auto r = cfg->routines.find(routine);
  if (r == cfg->routines.end())
    return Status::NotFound("no backup routine named '" + routine + "'");
  ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(cfg->storage.at(r->second.storage)));
  ABS_ASSIGN_OR_RETURN(auto entries, backupset::ListBackups(*storage, routine, false));
  const backupset::BackupEntry* chosen = nullptr;
  for (const auto& e : entries) {  // oldest first
    if (e.timestamp_ms <= time_ms) chosen = &e;
  }
  if (!chosen) {
    return Status::NotFound("routine '" + routine + "' has no full backup at or before " +
                            std::to_string(time_ms));
  }
  const std::string dir = chosen->run_dir + "/" + backup::kConfigurationDir + "/";
  ABS_ASSIGN_OR_RETURN(auto objects, storage->List(dir));
  std::vector<std::string> names;
  for (const auto& o : objects) {
    if (o.path.size() > 5 && o.path.ends_with(".conf")) names.push_back(o.path);
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;  // aerospike_2 before _10
  });
  if (names.empty()) {
    return Status::NotFound("the full backup " + chosen->run_dir +
                            " holds no cluster configuration (its policy did not set "
                            "with-cluster-configuration)");
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& path : names) {
    ABS_ASSIGN_OR_RETURN(std::string text, storage->ReadAll(path));
    files.emplace_back("aerospike_" + std::to_string(files.size()) + ".conf", std::move(text));
  }
  return ZipStored(files);
}

Result<Json> Service::ListBackups(bool incremental, const std::string& routine, int64_t from_ms,
                                  int64_t to_ms) {
  auto cfg = config();
  // Each backup names its storage as ABS's BackupDetails does: the storage's definition,
  // in its current spelling, with its secrets masked.
  LegacyReading ignored;
  const Json doc = RedactSecrets(UpgradeLegacyConfig(cfg->document, ignored));
  auto list_one = [&](const std::string& name) -> Result<Json> {
    const RoutineConfig& r = cfg->routines.at(name);
    ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(cfg->storage.at(r.storage)));
    ABS_ASSIGN_OR_RETURN(auto entries, backupset::ListBackups(*storage, name, incremental));
    Json definition = Json::object();
    if (auto section = doc.find("storage"); section != doc.end() && section->is_object()) {
      if (auto entry = section->find(r.storage); entry != section->end()) definition = *entry;
    }
    Json arr = Json::array();
    for (const auto& e : entries) {
      if (from_ms > 0 && e.timestamp_ms < from_ms) continue;
      if (to_ms > 0 && e.timestamp_ms > to_ms) continue;
      arr.push_back(e.ToJson(definition));
    }
    return arr;
  };
  if (!routine.empty()) {
    if (!cfg->routines.count(routine)) {
      return Status::NotFound("no backup routine named '" + routine + "'");
    }
    return list_one(routine);
  }
  // Every routine's list, or an error naming the routine whose storage failed: the
  // answer is a map of lists, as ABS's clients decode it, so no entry may be anything else.
  Json out = Json::object();
  for (const auto& [name, r] : cfg->routines) {
    auto one = list_one(name);
    if (!one.ok()) {
      return Status::Internal("routine '" + name + "': " + ShortError(one.status()));
    }
    out[name] = std::move(one).value();
  }
  return out;
}

// ---------------------------------------------------------------- metrics

Readiness Service::CheckReady() {
  return CheckReadiness(*config(), clusters_, [this](const StorageConfig& s) {
    return OpenStorage(s, /*retries=*/false);
  });
}

Status Service::CheckConnectivity(const std::string& section, const Json& entry) {
  const auto current = config();
  const Json& document = current->document;
  const Json agents = document.contains("secret-agents") ? document["secret-agents"] : Json();
  if (section == "clusters") return CheckClusterConnectivity(entry, agents);
  if (section == "storage") {
    return CheckStorageConnectivity(entry, agents, [this](const StorageConfig& s) {
      return OpenStorage(s, /*retries=*/false);
    });
  }
  return Status::NotFound("no connectivity check for '" + section + "'");
}

std::string Service::MetricsText() {
  {
    std::lock_guard lock(mu_);
    for (auto& [name, rt] : routines_) {
      for (auto* run : {rt.full.get(), rt.incremental.get()}) {
        if (!run || !run->begun) continue;  // a delayed trigger is not running yet
        Json j = RunningJobJson(*run, options_.clock->UnixMillis());
        metrics_->BackupRunning(name, run->incremental, true, j["percentage-done"].get<double>());
      }
    }
  }
  return metrics_->Text() + StorageMetricsText(*storage_stats_);
}

}  // namespace absvc::service
