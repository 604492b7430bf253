#include "service/service.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/periodic.h"
#include "common/text.h"
#include "service/catalog.h"
#include "service/clusters.h"
#include "service/metrics.h"
#include "service/runs.h"
#include "wire/info.h"

namespace absvc::service {

namespace {

int64_t NewJobId() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mu);
  // Positive and below 2^53, so JavaScript clients read it exactly.
  return static_cast<int64_t>(rng() & ((1ULL << 53) - 1)) | 1;
}

std::string TimestampSuffix(const std::string& format, int64_t ms) {
  if (format.empty()) return "";
  time_t t = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const char* f = format == "ISO"  ? "%Y-%m-%dT%H-%M-%S"
                  : format == "EU" ? "%d-%m-%Y_%H-%M-%S"
                                   : "%m-%d-%Y_%H-%M-%S";
  strftime(buf, sizeof buf, f, &tm);
  return std::string("_") + buf;
}

// Waits `ms` on `clock`, looking at `cancel` every 20 ms of it; false when cancelled.
bool SleepCancellable(Clock& clock, int64_t ms, const std::atomic<bool>& cancel) {
  const auto end = clock.Now() + std::chrono::milliseconds(ms);
  for (auto now = clock.Now(); now < end; now = clock.Now()) {
    if (cancel.load()) return false;
    clock.SleepFor(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(20),
        std::chrono::duration_cast<std::chrono::milliseconds>(end - now) +
            std::chrono::milliseconds(1)));
  }
  return !cancel.load();
}

Result<std::vector<std::string>> ClusterNamespaces(client::Client& c) {
  ABS_ASSIGN_OR_RETURN(std::string answer, c.InfoAny("namespaces"));
  std::vector<std::string> out;
  for (auto ns : wire::SplitList(answer, ';')) {
    if (!ns.empty()) out.emplace_back(ns);
  }
  if (out.empty()) return Status::NotFound("the cluster reports no namespaces");
  return out;
}

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
      config_(std::make_shared<const Config>(std::move(config))) {}

Result<std::unique_ptr<Service>> Service::Create(ServiceOptions options, Config config) {
  ABS_ASSIGN_OR_RETURN(auto jobs, JobStore::Open(options.state_dir));
  return std::unique_ptr<Service>(
      new Service(std::move(options), std::move(config), std::move(jobs)));
}

Service::~Service() {
  Stop();
}

Status Service::Start() {
  RecoverInterruptedJobs();
  ReclaimInterruptedBackups();
  RecoverAbandonedRuns();
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
      auto fulls = service::ListBackups(**storage, name, false);
      if (fulls.ok()) {
        for (const auto& e : *fulls) {
          if (e.slice == slice) rt.last_full_ms = std::max(rt.last_full_ms, e.timestamp_ms);
        }
      }
      auto incrs = service::ListBackups(**storage, name, true);
      if (incrs.ok()) {
        for (const auto& e : *incrs) {
          if (e.slice == slice) {
            rt.last_incremental_ms = std::max(rt.last_incremental_ms, e.timestamp_ms);
          }
        }
      }
    }
    RescheduleLocked(options_.clock->UnixMillis());
    ResumeInterruptedBackupsLocked();
  }
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  return Status::Ok();
}

void Service::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !scheduler_.joinable()) return;
    stopping_ = true;
    for (auto& [name, rt] : routines_) {
      if (rt.full) rt.full->cancel = true;
      if (rt.incremental) rt.incremental->cancel = true;
    }
    for (auto& [id, r] : restores_)
      r->cancel = true;
  }
  scheduler_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  std::unique_lock lock(threads_mu_);
  threads_cv_.wait(lock, [&] { return active_threads_ == 0; });
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

std::shared_ptr<const Config> Service::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

Status Service::ApplyLocked(Config cfg) {
  config_ = std::make_shared<const Config>(std::move(cfg));
  // Routines that disappeared or got disabled: their running jobs are cancelled.
  for (auto& [name, rt] : routines_) {
    auto it = config_->routines.find(name);
    if (it == config_->routines.end() || it->second.disabled) {
      if (rt.full) rt.full->cancel = true;
      if (rt.incremental) rt.incremental->cancel = true;
    }
  }
  RescheduleLocked(options_.clock->UnixMillis());
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
  if (!options_.config_path.empty()) {
    ABS_RETURN_IF_ERROR(SaveConfigFile(options_.config_path, cfg.document));
  }
  std::lock_guard lock(mu_);
  return ApplyLocked(std::move(cfg));
}

Status Service::ReplaceConfig(const Json& document) {
  return EditConfig([&](Json& doc) {
    doc = KeepStoredSecrets(document, doc);
    return Status::Ok();
  });
}

Status Service::ReloadConfigFile() {
  if (options_.config_path.empty()) return Status::InvalidArgument("no configuration file");
  std::lock_guard writer(config_write_mu_);
  ABS_ASSIGN_OR_RETURN(Config cfg, LoadConfigFile(options_.config_path));
  std::lock_guard lock(mu_);
  return ApplyLocked(std::move(cfg));
}

Result<std::shared_ptr<storage::Storage>> Service::OpenStorage(const StorageConfig& s,
                                                               bool retries) {
  storage::OpenOptions options;
  options.stats = storage_stats_;
  options.retries = retries;
  ABS_ASSIGN_OR_RETURN(auto st, storage::OpenStorage(s, options));
  return std::shared_ptr<storage::Storage>(std::move(st));
}

// ---------------------------------------------------------------- scheduling

void Service::RescheduleLocked(int64_t now_ms) {
  for (const auto& [name, r] : config_->routines) {
    auto& rt = routines_[name];
    bool local = (r.schedule_timezone.empty() ? config_->service.schedule_timezone
                                              : r.schedule_timezone) == "Local";
    std::string key = r.interval_cron.text() + "|" +
                      (r.incr_interval_cron ? r.incr_interval_cron->text() : "") + "|" +
                      std::to_string(local) + "|" + std::to_string(r.disabled);
    // An unchanged schedule keeps its next fire times: an edit made just before a fire
    // time must not skip that backup.
    if (key == rt.schedule_key && (rt.next_full_ms != 0 || r.disabled)) continue;
    rt.schedule_key = key;
    rt.next_full_ms = 0;
    rt.next_incremental_ms = 0;
    if (r.disabled) continue;
    if (auto next = r.interval_cron.Next(now_ms / 1000, local)) rt.next_full_ms = *next * 1000;
    if (r.incr_interval_cron) {
      if (auto next = r.incr_interval_cron->Next(now_ms / 1000, local))
        rt.next_incremental_ms = *next * 1000;
    }
  }
}

void Service::SchedulerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    int64_t now = options_.clock->UnixMillis();
    int64_t wake = now + 60000;
    for (auto& [name, rt] : routines_) {
      auto it = config_->routines.find(name);
      if (it == config_->routines.end() || it->second.disabled) continue;
      bool local = (it->second.schedule_timezone.empty() ? config_->service.schedule_timezone
                                                         : it->second.schedule_timezone) == "Local";
      if (rt.next_full_ms != 0 && rt.next_full_ms <= now) {
        Status st = StartBackupLocked(name, false, 0, true);
        if (!st.ok()) ABS_LOG_INFO("scheduled full backup of {}: {}", name, st.message());
        auto next = it->second.interval_cron.Next(now / 1000, local);
        rt.next_full_ms = next ? *next * 1000 : 0;
      }
      if (rt.next_incremental_ms != 0 && rt.next_incremental_ms <= now) {
        Status st = StartBackupLocked(name, true, 0, true);
        if (!st.ok()) ABS_LOG_INFO("scheduled incremental backup of {}: {}", name, st.message());
        auto next = it->second.incr_interval_cron->Next(now / 1000, local);
        rt.next_incremental_ms = next ? *next * 1000 : 0;
      }
      if (rt.next_full_ms != 0) wake = std::min(wake, rt.next_full_ms);
      if (rt.next_incremental_ms != 0) wake = std::min(wake, rt.next_incremental_ms);
    }
    options_.clock->WaitUntilUnix(lock, scheduler_cv_, std::max<int64_t>(now + 10, wake));
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
  run->config = config_;
  run->lock = std::move(lock);
  (incremental ? rt.incremental : rt.full) = run;
  metrics_->BackupRunning(routine, incremental, true, 0);
  ABS_LOG_INFO("{} backup of routine {} starting (job {})", type, routine, run->id);
  Launch([this, run] { RunBackup(run); });
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

void Service::RunBackup(std::shared_ptr<BackupRun> run) {
  const Config& cfg = *run->config;
  const RoutineConfig& r = cfg.routines.at(run->routine);
  const BackupPolicyConfig& policy = cfg.PolicyOf(r);
  const ClusterConfig& cluster = cfg.clusters.at(r.source_cluster);
  const StorageConfig& storage_cfg = cfg.storage.at(r.storage);
  std::string type = run->incremental ? "incremental" : "full";

  JobRecord job;
  job.id = run->id;
  job.kind = JobKind::kBackup;
  job.routine = run->routine;
  job.type = run->incremental ? JobType::kIncremental : JobType::kFull;
  job.status = JobStatus::kRunning;

  std::shared_ptr<storage::Storage> storage;
  std::string run_dir;
  uint64_t total_records = 0, total_bytes = 0;
  // From the start (a triggered run holds its lock through its delay) to the end, the
  // lock and, once made, the claim are renewed; a lock lost to another instance cancels
  // the run.
  auto heartbeat_state = std::make_shared<RunHeartbeat>();
  Periodic heartbeat(std::chrono::milliseconds(std::max<int64_t>(50, options_.run_lease_ms / 4)),
                     [run, heartbeat_state] { heartbeat_state->Beat(*run); });
  Status result = [&]() -> Status {
    if (run->delay_ms > 0 && !SleepCancellable(*options_.clock, run->delay_ms, run->cancel)) {
      return Status::Cancelled("cancelled before it started");
    }
    if (run->resume_dir.empty()) run->start_ms = options_.clock->UnixMillis();
    if (!run->lock) {  // a scheduled run: triggers took the lock already
      ABS_ASSIGN_OR_RETURN(auto lock, AcquireRunLock(cfg, run->routine, run->incremental));
      std::lock_guard l(run->mu);
      run->lock = std::move(lock);
    }
    ABS_ASSIGN_OR_RETURN(storage, OpenStorage(storage_cfg));
    heartbeat_state->SetStorage(storage);
    ABS_ASSIGN_OR_RETURN(auto client, clusters_.ClientFor(r.source_cluster, cluster));
    std::vector<std::string> namespaces = r.namespaces;
    if (namespaces.empty()) {
      ABS_ASSIGN_OR_RETURN(namespaces, ClusterNamespaces(*client));
    }

    backup::BackupOptions base;
    base.sets = r.set_list;
    base.bins = r.bin_list;
    base.slice.partition_list = r.partition_list;
    base.slice.nodes = r.node_list;
    base.slice.racks = r.rack_list;
    base.parallel = static_cast<int>(policy.parallel);
    base.no_records = policy.no_records;
    base.no_indexes = policy.no_indexes || run->incremental;
    base.no_udfs = policy.no_udfs || run->incremental;
    base.compact = policy.compact;
    base.file_limit_bytes = static_cast<uint64_t>(policy.file_limit_mib) << 20;
    base.records_per_second = static_cast<uint32_t>(policy.records_per_second);
    base.bandwidth_bytes_per_second = static_cast<uint64_t>(policy.bandwidth_mib) << 20;
    // ABS: socket-timeout 0 means total-timeout.
    base.socket_timeout = std::chrono::milliseconds(
        policy.socket_timeout_ms > 0 ? policy.socket_timeout_ms : policy.total_timeout_ms);
    base.cancel = &run->cancel;
    if (!r.filter_exp.empty()) base.filter = Base64Decode(r.filter_exp).value_or("");
    ABS_ASSIGN_OR_RETURN(base.codec.compression, storage::ParseCompression(policy.compression));
    base.codec.compression_level = static_cast<int>(policy.compression_level);
    ABS_ASSIGN_OR_RETURN(base.codec.encryption, storage::ParseEncryption(policy.encryption));
    if (base.codec.encryption != storage::Encryption::kNone) {
      ABS_ASSIGN_OR_RETURN(
          base.codec.key,
          storage::LoadEncryptionKey(policy.key_file, policy.key_env, base.codec.encryption));
    }
    auto slots = clusters_.ScanSlots(r.source_cluster, cluster.max_parallel_scans);
    base.scan_slots = slots.get();
    if (run->incremental) {
      int64_t after_ms;
      {
        std::lock_guard lock(mu_);
        const auto& rt = routines_[run->routine];
        std::string mode = r.incr_mode.empty() ? policy.incr_mode : r.incr_mode;
        after_ms = mode == "cumulative" ? rt.last_full_ms
                                        : std::max(rt.last_full_ms, rt.last_incremental_ms);
      }
      base.modified_after_unix_ns = after_ms * 1000000;
    }
    if (policy.sealed) base.modified_before_unix_ns = run->start_ms * 1000000;

    // Claim a run directory no other instance uses: parallel instances of one routine
    // share the storage and may start within the same millisecond.
    std::string kind_dir = run->routine + (run->incremental ? "/incremental/" : "/backup/");
    int64_t ts = run->start_ms;
    // The claim names its owner and the namespaces the run will write, and its heartbeat
    // is renewed while the run lasts: crash recovery, on any instance, removes a run only
    // when its owner is gone, and keeps it when every namespace finished.
    const Owner& self = Owner::Self();
    Json claim = {{"job-id", run->id},
                  {"host", self.host},
                  {"pid", self.pid},
                  {"owner", self.ToJson()},
                  {"slice", SliceKey(r)},
                  {"namespaces", namespaces},
                  {"heartbeat-ms", UnixNowMillis()}};
    for (int attempt = 0; !run->resume_dir.empty(); ++attempt) {
      // A resumed run's directory is its own already (ReclaimInterruptedBackups); the
      // claim is rewritten with this run's details.
      ABS_RETURN_IF_ERROR(
          storage->PutAtomic(run->resume_dir + "/abs-run.json",
                             claim.dump(2, ' ', false, Json::error_handler_t::replace)));
      run_dir = run->resume_dir;
      heartbeat_state->Claimed(run_dir, claim);
      break;
    }
    for (int attempt = 0; run_dir.empty(); ++attempt) {
      // run_dir is what the cleanup removes: it is set only once the claim is ours, never
      // to a directory another instance claimed first.
      std::string candidate =
          kind_dir + std::to_string(ts) + TimestampSuffix(cfg.service.timestamp_format, ts);
      ABS_ASSIGN_OR_RETURN(
          bool claimed,
          storage->CreateExclusive(candidate + "/abs-run.json",
                                   claim.dump(2, ' ', false, Json::error_handler_t::replace)));
      if (claimed) {
        run_dir = candidate;
        heartbeat_state->Claimed(run_dir, claim);
        break;
      }
      if (attempt > 1000) return Status::Conflict("cannot claim a backup directory in " + kind_dir);
      ++ts;
    }
    run->namespaces_total = static_cast<int>(namespaces.size());
    {
      std::lock_guard lock(run->mu);
      for (const auto& ns : namespaces)
        run->directories.push_back(run_dir + "/data/" + ns);
    }
    job.started_ms = run->start_ms;
    job.detail = {{"storage", r.storage},
                  {"storage-path", storage_cfg.path},
                  {"run-directory", run_dir},
                  {"directories", run->directories},
                  {"owner", self.ToJson()}};
    if (run->resume_dir.empty()) {
      ABS_RETURN_IF_ERROR(jobs_->Insert(job));
    } else {
      job.detail["resumed"] = run->resume_detail.value("resumed", 0) + 1;
      ABS_RETURN_IF_ERROR(jobs_->Update(job));
    }

    for (const auto& ns : namespaces) {
      backup::BackupOptions o = base;
      o.ns = ns;
      o.directory = run_dir + "/data/" + ns;
      // Every attempt, and a run resumed after a restart, goes on from the checkpoint.
      o.resumable = true;
      auto progress = std::make_shared<backup::BackupProgress>();
      {
        std::lock_guard lock(run->mu);
        run->progress.push_back(progress);
      }
      Status last;
      for (int64_t attempt = 0;; ++attempt) {
        auto res = backup::RunBackup(*client, *storage, o, progress.get());
        if (res.ok()) {
          total_records += res->record_count;
          total_bytes += res->byte_count;
          if (res->resumed) {
            ABS_LOG_INFO(
                "backup of {} ({}) went on from its checkpoint: {} files, {} records "
                "were complete",
                ns, run->routine, res->resumed_files, res->resumed_records);
          }
          last = Status::Ok();
          break;
        }
        last = res.status();
        if (last.code() == StatusCode::kConflict && !run->resume_dir.empty()) {
          // This namespace finished before the restart: its metadata says what it holds.
          auto text = storage->ReadAll(o.directory + "/" + backupset::kMetadataFile);
          auto meta = text.ok() ? backupset::ParseMetadataYaml(*text)
                                : Result<backupset::BackupMetadata>(text.status());
          if (meta.ok()) {
            total_records += meta->record_count;
            total_bytes += meta->byte_count;
            progress->records = meta->record_count;
            last = Status::Ok();
            break;
          }
        }
        if (last.code() == StatusCode::kCancelled || run->cancel) return last;
        bool permanent = last.code() == StatusCode::kInvalidArgument ||
                         last.code() == StatusCode::kNotFound ||
                         last.code() == StatusCode::kUnsupported;
        if (permanent || attempt >= policy.retry.max_retries) break;
        metrics_->BackupEvent(run->routine, run->incremental, "retry");
        constexpr double kMaxDelayMs = 3600.0 * 1000;  // an hour between attempts at most
        auto delay = static_cast<int64_t>(std::min(
            kMaxDelayMs, static_cast<double>(policy.retry.base_timeout_ms) *
                             std::pow(policy.retry.multiplier,
                                      static_cast<double>(std::min<int64_t>(attempt, 64)))));
        ABS_LOG_WARN("backup of {} ({}) failed, retry {} in {} ms: {}", ns, run->routine,
                     attempt + 1, delay, last.ToString());
        progress->records = 0;
        progress->bytes = 0;
        if (!SleepCancellable(*options_.clock, delay, run->cancel))
          return Status::Cancelled("cancelled");
      }
      if (!last.ok()) return last.WithContext("namespace " + ns);
    }
    return Status::Ok();
  }();

  heartbeat.Stop();
  int64_t now = options_.clock->UnixMillis();
  JobStatus outcome = result.ok()                               ? JobStatus::kSuccess
                      : result.code() == StatusCode::kCancelled ? JobStatus::kCanceled
                                                                : JobStatus::kFailure;
  if (result.code() == StatusCode::kConflict && job.started_ms == 0) {
    outcome = JobStatus::kSkip;  // another instance runs this slice's backup
  }
  if (storage && !run_dir.empty()) {
    if (!result.ok()) {
      // A cancelled or failed run leaves nothing that could be listed as a backup.
      (void)storage->Remove(run_dir + "/");
    } else if (run->incremental && total_records == 0) {
      (void)storage->Remove(run_dir + "/");  // empty incrementals are not kept
    }
  }
  if (result.ok()) {
    metrics_->BackupSucceeded(run->routine, run->incremental, run->start_ms,
                              static_cast<double>(now - run->start_ms) / 1000.0);
    metrics_->BackupBytes(run->routine, run->incremental, total_records, total_bytes);
    if (!run->incremental && policy.retention_full > 0 && storage) {
      Status st = ApplyRetention(*storage, run->routine, policy.retention_full,
                                 policy.retention_incremental, SliceKey(r));
      if (!st.ok()) ABS_LOG_WARN("retention of {}: {}", run->routine, st.ToString());
    }
    ABS_LOG_INFO("{} backup of routine {} finished: {} records, {} bytes in {} ms", type,
                 run->routine, total_records, total_bytes, now - run->start_ms);
  } else if (outcome == JobStatus::kSkip) {
    ABS_LOG_INFO("{} backup of routine {} skipped: {}", type, run->routine, result.message());
  } else {
    ABS_LOG_ERROR("{} backup of routine {} {}: {}", type, run->routine,
                  outcome == JobStatus::kCanceled ? "cancelled" : "failed", result.ToString());
  }
  metrics_->BackupEvent(run->routine, run->incremental, jobs::Name(outcome));
  if (job.started_ms != 0) {
    job.status = outcome;
    job.finished_ms = now;
    job.detail["record-count"] = total_records;
    job.detail["byte-count"] = total_bytes;
    if (!result.ok()) job.detail["error"] = ShortError(result);
    Status st = jobs_->Update(job);
    if (!st.ok()) ABS_LOG_ERROR("{}", st.ToString());
  }
  {
    std::lock_guard l(run->mu);
    run->lock.reset();  // after the cleanup: a sibling may start this slice now
  }
  std::lock_guard lock(mu_);
  auto& rt = routines_[run->routine];
  if (result.ok()) (run->incremental ? rt.last_incremental_ms : rt.last_full_ms) = run->start_ms;
  auto& slot = run->incremental ? rt.incremental : rt.full;
  if (slot == run) slot.reset();
  metrics_->BackupRunning(run->routine, run->incremental, false, result.ok() ? 100 : 0);
}

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
  if (rt.full) j["full"] = RunningJobJson(*rt.full, options_.clock->UnixMillis());
  if (rt.incremental)
    j["incremental"] = RunningJobJson(*rt.incremental, options_.clock->UnixMillis());
  if (rt.last_full_ms) j["last-full"] = backupset::FormatRfc3339Millis(rt.last_full_ms);
  if (rt.last_incremental_ms) {
    j["last-incremental"] = backupset::FormatRfc3339Millis(rt.last_incremental_ms);
  }
  if (rt.next_full_ms) j["next-full"] = backupset::FormatRfc3339Millis(rt.next_full_ms);
  if (rt.next_incremental_ms) {
    j["next-incremental"] = backupset::FormatRfc3339Millis(rt.next_incremental_ms);
  }
  return j;
}

Result<Json> Service::ListBackups(bool incremental, const std::string& routine, int64_t from_ms,
                                  int64_t to_ms) {
  auto cfg = config();
  auto list_one = [&](const std::string& name) -> Result<Json> {
    const RoutineConfig& r = cfg->routines.at(name);
    ABS_ASSIGN_OR_RETURN(auto storage, OpenStorage(cfg->storage.at(r.storage)));
    ABS_ASSIGN_OR_RETURN(auto entries, service::ListBackups(*storage, name, incremental));
    Json arr = Json::array();
    for (const auto& e : entries) {
      if (from_ms > 0 && e.timestamp_ms < from_ms) continue;
      if (to_ms > 0 && e.timestamp_ms > to_ms) continue;
      arr.push_back(e.ToJson(r.storage));
    }
    return arr;
  };
  if (!routine.empty()) {
    if (!cfg->routines.count(routine)) {
      return Status::NotFound("no backup routine named '" + routine + "'");
    }
    return list_one(routine);
  }
  // One routine's unreachable storage must not hide every other routine's backups: its
  // entry says what is wrong instead.
  Json out = Json::object();
  for (const auto& [name, r] : cfg->routines) {
    auto one = list_one(name);
    out[name] = one.ok() ? std::move(one).value()
                         : Json{{"error", StatusCodeName(one.status().code())},
                                {"message", ShortError(one.status())}};
  }
  return out;
}

// ---------------------------------------------------------------- restore

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
      ABS_ASSIGN_OR_RETURN(auto fulls, service::ListBackups(*storage, req.routine, false));
      ABS_ASSIGN_OR_RETURN(auto incrs, service::ListBackups(*storage, req.routine, true));
      // Per namespace, of this instance's slice: parallel instances each restore theirs.
      std::map<std::string, const BackupEntry*> latest_full;
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
    constexpr int kAttempts = 5;
    for (int attempt = 1;; ++attempt) {
      Status st;
      for (const auto& ps : planned) {
        st = restore::RunPlannedRestore(*client, *storage, ps.options, ps.plan, run->counters)
                 .WithContext(ps.dir);
        if (!st.ok()) break;
      }
      if (st.ok() || !storage::IsTransient(st) || attempt >= kAttempts || run->cancel) return st;
      const int64_t delay = std::min<int64_t>(30000, int64_t{1000} << (attempt - 1));
      ABS_LOG_WARN(
          "restore job {} failed, retry {} in {} ms ({} files are restored and will be "
          "skipped): {}",
          run->id, attempt, delay, restored.size(), st.ToString());
      if (!SleepCancellable(*options_.clock, delay, run->cancel))
        return Status::Cancelled("restore cancelled");
    }
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

// ---------------------------------------------------------------- health

Readiness Service::CheckReady() {
  Readiness r;
  auto cfg = config();
  std::set<std::string> clusters, storages;
  for (const auto& [name, routine] : cfg->routines) {
    if (routine.disabled) continue;
    clusters.insert(routine.source_cluster);
    storages.insert(routine.storage);
  }
  for (const auto& name : storages) {
    const StorageConfig& s = cfg->storage.at(name);
    // One attempt each: probes (Kubernetes, systemd) time out in seconds.
    auto st = OpenStorage(s, /*retries=*/false);
    Status reachable = st.ok() ? (*st)->Probe() : st.status();
    if (!reachable.ok()) r.problems.push_back("storage " + name + ": " + reachable.message());
  }
  for (const auto& name : clusters) {
    // Probes (Kubernetes, systemd) time out in seconds: an unreachable seed must not hold
    // /ready for the whole conn-timeout.
    ClusterConfig probe = cfg->clusters.at(name);
    probe.conn_timeout_ms = std::min<int64_t>(probe.conn_timeout_ms, 2000);
    auto c = clusters_.ClientFor(name, probe);
    if (!c.ok()) {
      r.problems.push_back("cluster " + name + ": " + c.status().message());
    } else if ((*c)->Nodes().empty()) {
      r.problems.push_back("cluster " + name + ": no node reachable");
    }
  }
  r.ready = r.problems.empty();
  return r;
}

namespace {

// Requests to storage (every attempt, by operation), their failures and time, and the
// bytes moved, over all storages this instance opened.
std::string StorageMetricsText(const storage::StorageStats& stats) {
  std::string out =
      "# HELP abs_storage_requests_total Requests to storage, each attempt counted.\n"
      "# TYPE abs_storage_requests_total counter\n";
  std::string errors =
      "# HELP abs_storage_errors_total Requests to storage that failed.\n"
      "# TYPE abs_storage_errors_total counter\n";
  std::string seconds =
      "# HELP abs_storage_request_seconds_total Time spent in requests to storage.\n"
      "# TYPE abs_storage_request_seconds_total counter\n";
  for (int op = 0; op < storage::StorageStats::kOps; ++op) {
    std::string label = std::string("{op=\"") + storage::StorageStats::OpName(op) + "\"} ";
    out += "abs_storage_requests_total" + label + std::to_string(stats.requests[op].load()) + "\n";
    errors += "abs_storage_errors_total" + label + std::to_string(stats.errors[op].load()) + "\n";
    seconds += "abs_storage_request_seconds_total" + label +
               std::to_string(static_cast<double>(stats.micros[op].load()) / 1e6) + "\n";
  }
  out += errors + seconds +
         "# HELP abs_storage_bytes_total Bytes written to and read from storage.\n"
         "# TYPE abs_storage_bytes_total counter\n"
         "abs_storage_bytes_total{direction=\"write\"} " +
         std::to_string(stats.bytes_written.load()) +
         "\nabs_storage_bytes_total{direction=\"read\"} " +
         std::to_string(stats.bytes_read.load()) + "\n";
  return out;
}

}  // namespace

std::string Service::MetricsText() {
  {
    std::lock_guard lock(mu_);
    for (auto& [name, rt] : routines_) {
      for (auto* run : {rt.full.get(), rt.incremental.get()}) {
        if (!run) continue;
        Json j = RunningJobJson(*run, options_.clock->UnixMillis());
        metrics_->BackupRunning(name, run->incremental, true, j["percentage-done"].get<double>());
      }
    }
  }
  return metrics_->Text() + StorageMetricsText(*storage_stats_);
}

}  // namespace absvc::service
