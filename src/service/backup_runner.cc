#include "service/backup_runner.h"

#include "backup/cluster_configuration.h"

#include <cmath>
#include <ctime>
#include <limits>

#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "common/json_fields.h"
#include "common/log.h"
#include "common/periodic.h"
#include "common/text.h"
#include "jobs/retry.h"
#include "service/metrics.h"
#include "service/runs.h"
#include "wire/info.h"

namespace absvc::service {

using jobs::JobKind;
using jobs::JobRecord;
using jobs::JobType;

namespace {

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

Result<std::vector<std::string>> ClusterNamespaces(client::Client& c) {
  ABS_ASSIGN_OR_RETURN(std::string answer, c.InfoAny("namespaces"));
  std::vector<std::string> out;
  for (auto ns : wire::SplitList(answer, ';')) {
    if (!ns.empty()) out.emplace_back(ns);
  }
  if (out.empty()) return Status::NotFound("the cluster reports no namespaces");
  return out;
}

}  // namespace

BackupRunner::BackupRunner(Clock& clock, int64_t run_lease_ms, jobs::JobStore& jobs,
                           Metrics& metrics, ClusterConnections& clusters,
                           JobStorageOpener open_storage, Hooks hooks)
    : clock_(clock),
      run_lease_ms_(run_lease_ms),
      jobs_(jobs),
      metrics_(metrics),
      clusters_(clusters),
      open_storage_(std::move(open_storage)),
      hooks_(std::move(hooks)) {}

void BackupRunner::Run(std::shared_ptr<BackupRun> run) {
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
  Periodic heartbeat(std::chrono::milliseconds(std::max<int64_t>(50, run_lease_ms_ / 4)),
                     [run, heartbeat_state] { heartbeat_state->Beat(*run); });
  Status result = [&]() -> Status {
    if (run->delay_ms > 0 && !jobs::WaitCancellable(clock_, run->delay_ms, run->cancel)) {
      return Status::Cancelled("cancelled before it started");
    }
    if (!run->begun.exchange(true)) metrics_.BackupRunning(run->routine, run->incremental, true, 0);
    if (run->resume_dir.empty()) run->start_ms = clock_.UnixMillis();
    if (!run->lock) {  // a scheduled run: triggers took the lock already
      ABS_ASSIGN_OR_RETURN(auto lock, hooks_.acquire_lock(cfg, run->routine, run->incremental));
      std::lock_guard l(run->mu);
      run->lock = std::move(lock);
    }
    ABS_ASSIGN_OR_RETURN(storage, open_storage_(storage_cfg, &run->cancel));
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
    // file-limit 0: files are not split by size (ABS's meaning).
    base.file_limit_bytes = policy.file_limit_mib == 0
                                ? std::numeric_limits<uint64_t>::max()
                                : static_cast<uint64_t>(policy.file_limit_mib) << 20;
    base.records_per_second = static_cast<uint32_t>(policy.records_per_second);
    base.bandwidth_bytes_per_second = static_cast<uint64_t>(policy.bandwidth_mib) << 20;
    // ABS: socket-timeout 0 means total-timeout.
    base.socket_timeout = std::chrono::milliseconds(
        policy.socket_timeout_ms > 0 ? policy.socket_timeout_ms : policy.total_timeout_ms);
    base.cancel = &run->cancel;
    base.keep_on_cancel = &run->keep_work;
    if (!r.filter_exp.empty()) base.filter = Base64Decode(r.filter_exp).value_or("");
    ABS_ASSIGN_OR_RETURN(base.codec.compression, storage::ParseCompression(policy.compression));
    base.codec.compression_level = static_cast<int>(policy.compression_level);
    ABS_ASSIGN_OR_RETURN(base.codec.encryption, storage::ParseEncryption(policy.encryption));
    if (base.codec.encryption != storage::Encryption::kNone) {
      ABS_ASSIGN_OR_RETURN(
          base.codec.key,
          policy.key_pem.empty()
              ? storage::LoadEncryptionKey(policy.key_file, policy.key_env, base.codec.encryption)
              : storage::EncryptionKeyFromText(policy.key_pem, "the key-secret",
                                               base.codec.encryption));
    }
    base.parallel_write = static_cast<int>(policy.parallel_write);
    base.max_concurrent_nodes = static_cast<size_t>(policy.max_concurrent_nodes);
    base.total_timeout = std::chrono::milliseconds(policy.total_timeout_ms);
    base.scan_compression = policy.use_scan_compression;
    auto slots = clusters_.ScanSlots(r.source_cluster, cluster.max_parallel_scans);
    base.scan_slots = slots.get();
    if (run->incremental) {
      std::string mode = r.incr_mode.empty() ? policy.incr_mode : r.incr_mode;
      base.modified_after_unix_ns =
          hooks_.incremental_base_ms(run->routine, mode == "cumulative") * 1000000;
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
      // A resumed run's directory is its own already (CrashRecovery::Reclaim); the
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
                  {"storage-location", storage_cfg.Describe()},
                  {"run-directory", run_dir},
                  {"directories", run->directories},
                  {"owner", self.ToJson()}};
    if (run->resume_dir.empty()) {
      ABS_RETURN_IF_ERROR(jobs_.Insert(job));
    } else {
      job.detail["resumed"] =
          std::clamp<int64_t>(IntField(run->resume_detail, "resumed"), 0, INT32_MAX) + 1;
      ABS_RETURN_IF_ERROR(jobs_.Update(job));
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
      // The job's retries (retry-policy): each attempt goes on from the checkpoint.
      jobs::RetryPolicy retry{.base_ms = policy.retry.base_timeout_ms,
                              .multiplier = policy.retry.multiplier,
                              .max_delay_ms = 3600 * 1000,  // an hour between attempts at most
                              .max_retries = policy.retry.max_retries};
      Status last = jobs::RunAttempts(
          clock_, retry, run->cancel,
          [&](int64_t) -> Status {
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
              return Status::Ok();
            }
            if (res.status().code() == StatusCode::kConflict && !run->resume_dir.empty()) {
              // This namespace finished before the restart: its metadata says what it holds.
              auto text = storage->ReadAll(o.directory + "/" + backupset::kMetadataFile);
              auto meta = text.ok() ? backupset::ParseMetadataYaml(*text)
                                    : Result<backupset::BackupMetadata>(text.status());
              if (meta.ok()) {
                total_records += meta->record_count;
                total_bytes += meta->byte_count;
                progress->records = meta->record_count;
                return Status::Ok();
              }
            }
            return res.status();
          },
          [](const Status& st) {
            return st.code() != StatusCode::kCancelled &&
                   st.code() != StatusCode::kInvalidArgument &&
                   st.code() != StatusCode::kNotFound && st.code() != StatusCode::kUnsupported;
          },
          [&](int64_t n, int64_t delay, const Status& failure) {
            metrics_.BackupEvent(run->routine, run->incremental, "retry");
            ABS_LOG_WARN("backup of {} ({}) failed, retry {} in {} ms: {}", ns, run->routine, n,
                         delay, failure.ToString());
            progress->records = 0;
            progress->bytes = 0;
          });
      if (last.code() == StatusCode::kCancelled || run->cancel) return last;
      if (!last.ok()) return last.WithContext("namespace " + ns);
    }
    if (!run->incremental && policy.with_cluster_configuration) {
      // As ABS does: the backup stands without it, so a failure is logged, not fatal.
      Status saved = backup::SaveClusterConfiguration(*client, *storage, run_dir);
      if (!saved.ok()) {
        ABS_LOG_WARN("backup of routine {}: the cluster configuration was not saved: {}",
                     run->routine, saved.ToString());
      }
    }
    return Status::Ok();
  }();

  heartbeat.Stop();
  int64_t now = clock_.UnixMillis();
  if (!result.ok() && run->keep_work && storage && !run_dir.empty() && job.started_ms != 0) {
    // absd is stopping: what was written stays, with its checkpoints, and the job stays
    // running in the history, marked released, so the next start resumes it at once.
    job.detail["released-ms"] = now;
    job.detail["record-count"] = total_records;
    Status st = jobs_.Update(job);
    if (!st.ok()) ABS_LOG_ERROR("{}", st.ToString());
    ABS_LOG_INFO("{} backup of routine {} interrupted by the shutdown; kept in {} to resume", type,
                 run->routine, run_dir);
    {
      std::lock_guard l(run->mu);
      run->lock.reset();
    }
    hooks_.finished(run, false);
    metrics_.BackupRunning(run->routine, run->incremental, false, 0);
    return;
  }
  JobStatus outcome = result.ok()                               ? JobStatus::kSuccess
                      : result.code() == StatusCode::kCancelled ? JobStatus::kCanceled
                                                                : JobStatus::kFailure;
  if (result.code() == StatusCode::kConflict && job.started_ms == 0) {
    outcome = JobStatus::kSkip;  // another instance runs this slice's backup
  }
  // A cancelled or failed run leaves nothing that could be listed as a backup. An
  // incremental that found nothing is kept and listed, as ABS lists it: it records that
  // nothing changed up to its time, and the next incremental starts from there.
  if (storage && !run_dir.empty() && !result.ok()) (void)storage->Remove(run_dir + "/");
  if (result.ok()) {
    metrics_.BackupSucceeded(run->routine, run->incremental, run->start_ms,
                             static_cast<double>(now - run->start_ms) / 1000.0);
    metrics_.BackupBytes(run->routine, run->incremental, total_records, total_bytes);
    const bool retention = policy.retention_full > 0 || policy.retention_incremental >= 0;
    if (!run->incremental && retention && storage) {
      Status st = backupset::ApplyRetention(*storage, run->routine, policy.retention_full,
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
  metrics_.BackupEvent(run->routine, run->incremental, jobs::Name(outcome));
  if (job.started_ms != 0) {
    job.status = outcome;
    job.finished_ms = now;
    job.detail["record-count"] = total_records;
    job.detail["byte-count"] = total_bytes;
    if (!result.ok()) job.detail["error"] = ShortError(result);
    Status st = jobs_.Update(job);
    if (!st.ok()) ABS_LOG_ERROR("{}", st.ToString());
  }
  {
    std::lock_guard l(run->mu);
    run->lock.reset();  // after the cleanup: a sibling may start this slice now
  }
  hooks_.finished(run, result.ok());
  metrics_.BackupRunning(run->routine, run->incremental, false, result.ok() ? 100 : 0);
}

}  // namespace absvc::service
