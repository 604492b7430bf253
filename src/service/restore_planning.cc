#include "service/restore_planning.h"

#include <set>

#include "backupset/catalog.h"
#include "common/text.h"

namespace absvc::service {

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
    if (p.key_file.empty() && p.key_env.empty() && p.key_pem.empty()) {
      return Status::InvalidArgument(dir + " is encrypted (" + encryption +
                                     "); give policy.encryption with key-file, key-env or "
                                     "key-secret");
    }
    ABS_ASSIGN_OR_RETURN(
        o.codec.key,
        p.key_pem.empty()
            ? storage::LoadEncryptionKey(p.key_file, p.key_env, o.codec.encryption)
            : storage::EncryptionKeyFromText(p.key_pem, "the key-secret", o.codec.encryption));
  }
  return o;
}

Result<std::vector<std::vector<std::string>>> RestoreDirectories(storage::Storage& storage,
                                                                 jobs::JobType kind,
                                                                 const RestoreRequest& req,
                                                                 const std::string& routine_slice) {
  std::vector<std::vector<std::string>> steps;
  if (kind == jobs::JobType::kTimestamp) {
    ABS_ASSIGN_OR_RETURN(auto fulls, backupset::ListBackups(storage, req.routine, false));
    ABS_ASSIGN_OR_RETURN(auto incrs, backupset::ListBackups(storage, req.routine, true));
    // Per namespace, of this instance's slice: parallel instances each restore theirs.
    std::map<std::string, const backupset::BackupEntry*> latest_full;
    for (const auto& e : fulls) {
      if (e.slice == routine_slice && e.timestamp_ms <= req.time_ms)
        latest_full[e.metadata.ns] = &e;
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
      if (e.slice == routine_slice && e.timestamp_ms > f->second->timestamp_ms &&
          e.timestamp_ms <= req.time_ms) {
        incr_steps[e.timestamp_ms].push_back(e.key);
      }
    }
    for (auto& [ts, dirs] : incr_steps)
      steps.push_back(dirs);
    return steps;
  }
  std::string path = req.backup_data_path;
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  ABS_ASSIGN_OR_RETURN(auto objects, storage.List(path));
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
  return steps;
}

Result<RestoreJobPlan> PlanRestoreJob(storage::Storage& storage, jobs::JobType kind,
                                      const RestoreRequest& req, const std::string& routine_slice,
                                      restore::RestoreNotes& notes,
                                      std::atomic<uint64_t>* total_records) {
  ABS_ASSIGN_OR_RETURN(auto steps, RestoreDirectories(storage, kind, req, routine_slice));
  // Each backup's metadata.yaml, read once: its record count sizes the job, its codec is
  // the default for reading it.
  std::map<std::string, backupset::BackupMetadata> metadata;
  RestoreJobPlan job;
  for (const auto& step : steps) {
    for (const auto& d : step) {
      auto text = storage.ReadAll(d + "/" + backupset::kMetadataFile);
      if (!text.ok()) continue;
      auto meta = backupset::ParseMetadataYaml(*text);
      if (!meta.ok()) continue;
      job.total_records += meta->record_count;
      metadata[d] = *meta;
    }
  }
  if (total_records) *total_records = job.total_records;
  for (const auto& step : steps) {
    for (const auto& dir : step) {
      PlannedRestoreStep ps;
      ps.dir = dir;
      ABS_ASSIGN_OR_RETURN(ps.options, RestoreOptionsFor(req.policy, dir, metadata));
      ABS_ASSIGN_OR_RETURN(ps.plan, restore::PrepareRestore(storage, ps.options));
      notes.Add(ps.plan);
      job.steps.push_back(std::move(ps));
    }
  }
  return job;
}

}  // namespace absvc::service
