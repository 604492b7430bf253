// Crash recovery at startup: jobs a previous process left running, and runs in the shared
// storage whose owner is gone. Backups that can go on from their checkpoints resume; the
// rest is cleaned up, touching only what provably belongs to a process that is gone.
#include "service/recovery.h"

#include <set>

#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/cltime.h"
#include "common/json_fields.h"
#include "common/log.h"
#include "common/text.h"
#include "service/ownership.h"
#include "service/runs.h"

namespace absvc::service {

using jobs::JobKind;
using jobs::JobRecord;
using jobs::JobType;

// Whether the storage a backup job wrote to (its name, and where that storage was) is
// one of this configuration's: by its recorded location, or for records written before
// locations were, by its local root.
bool StorageIsConfigured(const Config& config, const Json& detail) {
  const std::string name = StringField(detail, "storage");
  if (name.empty()) {  // records older than storage names: a local root, as recorded
    const std::string root = StringField(detail, "storage-path");
    for (const auto& [n, s] : config.storage) {
      if (s.kind == StorageKind::kLocal && !root.empty() && s.path == root) return true;
    }
    return false;
  }
  auto it = config.storage.find(name);
  if (it == config.storage.end()) return false;
  std::string location = StringField(detail, "storage-location");
  if (!location.empty()) return it->second.Describe() == location;
  return it->second.kind != StorageKind::kLocal ||
         it->second.path == StringField(detail, "storage-path");
}

CrashRecovery::CrashRecovery(jobs::JobStore& jobs, int64_t run_lease_ms, StorageOpener open_storage)
    : jobs_(jobs), run_lease_ms_(run_lease_ms), open_storage_(std::move(open_storage)) {}

std::vector<InterruptedBackup> CrashRecovery::RecoverInterruptedJobs(const Config& config) {
  std::vector<InterruptedBackup> to_resume;
  auto running = jobs_.Running();
  if (!running.ok()) {
    ABS_LOG_ERROR("job history: {}", running.status().ToString());
    return to_resume;
  }
  const int64_t now = UnixNowMillis();
  for (auto& job : *running) {
    // Instances started from one directory share this history: a sibling may be running
    // this job right now. Jobs recorded before owners were (none named) are this
    // instance's own.
    // A job its owner released at a graceful stop is nobody's; otherwise the owner must
    // be provably gone.
    const bool released = IntField(job.detail, "released-ms") > 0;
    if (!released && !OwnerIsGone(job.detail, now, run_lease_ms_, /*ownerless_is_gone=*/true)) {
      continue;
    }
    // A backup into a storage this instance is not configured for is not its to resume
    // or clean up (a sibling sharing the history with other storage): left for that one.
    if (job.kind == JobKind::kBackup && !StorageIsConfigured(config, job.detail)) {
      ABS_LOG_WARN(
          "job {} ({}) was left by a stopped instance in storage {}, which is not "
          "configured here; it is left alone",
          job.id, job.routine, ShortValue(StringField(job.detail, "storage-location")));
      continue;
    }
    std::string note = "interrupted: absd stopped while this job ran";
    if (job.kind == JobKind::kBackup) {
      // A backup of a routine still configured, on the same storage, goes on from its
      // checkpoints rather than starting again.
      const Config* cfg = &config;
      auto routine = cfg->routines.find(job.routine);
      std::string run_dir = StringField(job.detail, "run-directory");
      if (routine != cfg->routines.end() && !routine->second.disabled &&
          StringField(job.detail, "storage") == routine->second.storage &&
          (job.type == JobType::kFull || job.type == JobType::kIncremental) && !run_dir.empty() &&
          storage::ValidateRelativePath(run_dir).ok()) {
        // Only a run that made its claim has checkpoints to go on from.
        auto storage = open_storage_(cfg->storage.at(routine->second.storage));
        auto claimed = storage.ok() ? (*storage)->Exists(run_dir + "/abs-run.json")
                                    : Result<bool>(storage.status());
        if (claimed.ok() && *claimed) {
          to_resume.push_back({job, run_dir});
          continue;
        }
      }
    }
    if (job.kind == JobKind::kBackup) {
      // Only directories this instance wrote are touched: parallel instances share the
      // storage and may be writing their own backups right now.
      std::string root;
      if (job.detail.is_object() && job.detail.contains("storage-path") &&
          job.detail["storage-path"].is_string()) {
        root = job.detail["storage-path"].get<std::string>();
      }
      // The storage the run wrote to: its block in the configuration; a local root as
      // recorded, should the block have moved since.
      StorageConfig where;
      where.kind = StorageKind::kLocal;
      if (job.detail.contains("storage") && job.detail["storage"].is_string()) {
        auto it = config.storage.find(job.detail["storage"].get<std::string>());
        if (it != config.storage.end()) where = it->second;
      }
      if (where.kind == StorageKind::kLocal) where.path = root;
      if (!where.path.empty() || where.kind != StorageKind::kLocal) root = where.Describe();
      if (!root.empty() && job.detail.contains("directories") &&
          job.detail["directories"].is_array()) {
        auto storage = open_storage_(where);
        if (storage.ok()) {
          for (const auto& d : job.detail["directories"]) {
            if (!d.is_string() || !storage::ValidateRelativePath(d.get<std::string>()).ok()) {
              continue;
            }
            std::string dir = d.get<std::string>();
            auto done = (*storage)->Exists(dir + "/" + backupset::kMetadataFile);
            if (done.ok() && !*done) {
              (void)(*storage)->Remove(dir + "/");
              ABS_LOG_WARN("removed the partial backup {} left by an interrupted run", dir);
            }
          }
          std::string run_dir;
          if (job.detail.contains("run-directory") && job.detail["run-directory"].is_string()) {
            run_dir = job.detail["run-directory"].get<std::string>();
          }
          if (!run_dir.empty() && storage::ValidateRelativePath(run_dir).ok()) {
            auto left = (*storage)->List(run_dir + "/data/");
            if (left.ok() && left->empty()) (void)(*storage)->Remove(run_dir + "/");
          }
        }
      }
      note += "; its partial files were removed";
    }
    if (job.kind == JobKind::kRestore && job.detail.contains("read-records")) {
      // The saved counters are a snapshot taken while records were in flight: what was
      // read and is in no other counter was not written.
      uint64_t accounted = 0;
      for (const char* k :
           {"inserted-records", "existed-records", "fresher-records", "skipped-records",
            "expired-records", "ignored-records", "failed-records"}) {
        if (job.detail.contains(k) && job.detail[k].is_number_unsigned()) {
          accounted += job.detail[k].get<uint64_t>();
        }
      }
      uint64_t read = job.detail["read-records"].is_number_unsigned()
                          ? job.detail["read-records"].get<uint64_t>()
                          : 0;
      if (read > accounted) {
        uint64_t failed = CountField(job.detail, "failed-records");
        job.detail["failed-records"] = failed + (read - accounted);
      }
      job.detail["status"] = jobs::Name(JobStatus::kFailure);
    }
    job.status = JobStatus::kFailure;
    job.finished_ms = UnixNowMillis();
    job.detail["error"] = note;
    (void)jobs_.Update(job);
    ABS_LOG_WARN("{} job {} ({}) was interrupted by a restart", jobs::Name(job.kind), job.id,
                 job.routine);
  }
  return to_resume;
}

std::vector<InterruptedBackup> CrashRecovery::Reclaim(const Config& config,
                                                      std::vector<InterruptedBackup> backups) {
  std::vector<InterruptedBackup> kept;
  for (auto& [job, run_dir] : backups) {
    const RoutineConfig& r = config.routines.at(job.routine);
    auto storage = open_storage_(config.storage.at(r.storage));
    Result<std::string> text = storage.ok() ? (*storage)->ReadAll(run_dir + "/abs-run.json")
                                            : Result<std::string>(storage.status());
    Json claim = text.ok() ? Json::parse(*text, nullptr, false) : Json();
    Status st = text.status();
    if (st.ok() && !claim.is_object()) st = Status::Corrupt("its claim is not a JSON object");
    if (st.ok() && claim.contains("slice") && StringField(claim, "slice") != SliceKey(r)) {
      // Another slice's run (a sibling sharing this history): resumed with this
      // instance's slice, it would mix two slices in one run. Left for its own instance.
      ABS_LOG_WARN(
          "the interrupted backup {} of routine {} is of slice '{}', not this "
          "instance's; it is left alone",
          run_dir, job.routine, ShortValue(StringField(claim, "slice")));
      continue;
    }
    if (st.ok()) {
      // The claim names this process now, so that no instance takes the run for abandoned.
      const Owner& self = Owner::Self();
      claim["owner"] = self.ToJson();
      claim["host"] = self.host;
      claim["pid"] = self.pid;
      claim["heartbeat-ms"] = UnixNowMillis();
      st = (*storage)->PutAtomic(run_dir + "/abs-run.json",
                                 claim.dump(2, ' ', false, Json::error_handler_t::replace));
    }
    if (!st.ok()) {
      ABS_LOG_WARN("the interrupted {} backup {} of routine {} cannot resume: {}",
                   jobs::Name(job.type), run_dir, job.routine, st.ToString());
      job.status = JobStatus::kFailure;
      job.finished_ms = UnixNowMillis();
      job.detail["error"] =
          "interrupted: absd stopped while this job ran, and it could not "
          "resume: " +
          ShortError(st);
      (void)jobs_.Update(job);
      continue;
    }
    kept.push_back({job, run_dir});
  }
  return kept;
}

void CrashRecovery::RemoveAbandonedRuns(const Config& config) {
  const Config* cfg = &config;
  const int64_t now = UnixNowMillis();
  for (const auto& [name, r] : cfg->routines) {
    auto storage_cfg = cfg->storage.find(r.storage);
    if (storage_cfg == cfg->storage.end()) continue;
    auto storage = open_storage_(storage_cfg->second);
    if (!storage.ok()) continue;
    for (bool incremental : {false, true}) {
      const std::string base = name + (incremental ? "/incremental/" : "/backup/");
      auto objects = (*storage)->List(base);
      if (!objects.ok()) continue;
      struct RunState {
        bool claimed = false;
        std::set<std::string> finished;  // namespaces with metadata.yaml
      };
      std::map<std::string, RunState> runs;
      for (const auto& obj : *objects) {
        std::string rest = obj.path.substr(base.size());
        size_t slash = rest.find('/');
        if (slash == std::string::npos) continue;
        RunState& run = runs[base + rest.substr(0, slash)];
        std::string inside = rest.substr(slash + 1);
        if (inside == "abs-run.json") run.claimed = true;
        if (auto dir = backupset::DirectoryOfMetadata(inside); dir && dir->rfind("data/", 0) == 0) {
          run.finished.insert(dir->substr(5));
        }
      }
      for (const auto& [run_dir, state] : runs) {
        if (!state.claimed) continue;  // written by ABS, not ours to judge
        auto text = (*storage)->ReadAll(run_dir + "/abs-run.json");
        if (!text.ok()) continue;
        Json claim = Json::parse(*text, nullptr, false);
        if (!claim.is_object()) continue;
        bool complete;
        if (claim.contains("namespaces") && claim["namespaces"].is_array()) {
          complete = true;
          for (const auto& ns : claim["namespaces"]) {
            complete = complete && ns.is_string() && state.finished.count(ns.get<std::string>());
          }
        } else {
          complete = !state.finished.empty();  // claims that listed no namespaces
        }
        if (complete || !OwnerIsGone(claim, now, run_lease_ms_)) continue;
        Status st = (*storage)->Remove(run_dir + "/");
        std::string owner = Owner::FromJson(claim.value("owner", Json::object())).Describe();
        if (st.ok()) {
          ABS_LOG_WARN("removed the unfinished run {} left by {}", run_dir, owner);
        } else {
          ABS_LOG_WARN("cannot remove the unfinished run {}: {}", run_dir, st.ToString());
        }
      }
    }
  }
}

}  // namespace absvc::service
