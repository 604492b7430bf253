#include "backup/backup_job.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "asb/asb.h"
#include "backup/definitions.h"
#include "backup/file_set.h"
#include "backup/resume.h"
#include "backup/scan_worker.h"
#include "backup/writer_pool.h"
#include "backupset/checkpoint.h"
#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "common/json_fields.h"
#include "common/log.h"
#include "common/memory_budget.h"
#include "common/rate_limiter.h"
#include "storage/cloud/crypto.h"
#include "storage/codec.h"
#include "wire/expression.h"
#include "wire/info.h"

namespace absvc::backup {

namespace {

Status CheckOptions(const BackupOptions& o) {
  if (o.ns.empty()) return Status::InvalidArgument("backup needs a namespace");
  if (o.parallel < 1 || o.parallel > 1024)
    return Status::InvalidArgument("parallel must be 1..1024");
  if (o.modified_before_unix_ns > 0 && o.modified_before_unix_ns <= o.modified_after_unix_ns) {
    return Status::InvalidArgument("modified-before must be after modified-after");
  }
  return Status::Ok();
}

BackupResult NewResult(const BackupOptions& o) {
  BackupResult result;
  result.ns = o.ns;
  result.codec = o.codec;
  result.codec.key.clear();
  result.slice = o.slice.Describe();
  result.from_unix_ns = o.modified_after_unix_ns;
  result.created_unix_ms = UnixNowMillis();

  return result;
}

// Where a resumable backup stands: its checkpoint, or nothing when it starts afresh (what
// was there and cannot be resumed is cleared first, so nothing of it mixes in).
Result<std::optional<Checkpoint>> ResumeOrStartOver(storage::Storage& storage,
                                                    const BackupOptions& o,
                                                    const std::string& fingerprint) {
  ABS_ASSIGN_OR_RETURN(Resume found, FindResume(storage, o, fingerprint));
  if (found.checkpoint || found.start_over_because.empty()) return std::move(found.checkpoint);
  if (o.on_start_over) o.on_start_over(found.start_over_because);
  ABS_LOG_WARN("backup of {} in {} starts over: {}", o.ns, o.directory, found.start_over_because);
  // Everything there goes, so nothing of the old run mixes into the new one.
  Status st;
  if (!o.directory.empty()) {
    st = storage.Remove(o.directory + "/");
  } else if (auto all = storage.List(""); all.ok()) {
    for (const auto& obj : *all)
      if (st.ok()) st = storage.Remove(obj.path);
  } else {
    st = all.status();
  }
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    return st.WithContext("clearing the backup to start over");
  }
  return std::optional<Checkpoint>();
}

// The partitions this backup reads and the nodes it started on: resolved now, or as the
// resumed run recorded them.
Status ResolveWhatToRead(client::Client& client, const BackupOptions& o,
                         const std::optional<Checkpoint>& resume, BackupResult& result) {
  if (resume) {
    // The slice as it was resolved when the backup started: a resume reads the same
    // partitions even if masters moved since.
    result.partitions = resume->partitions;
    result.nodes_at_start = resume->nodes_at_start;
    result.created_unix_ms = resume->created_unix_ms;
    result.sindex_count = resume->sindex_count;
    result.udf_count = resume->udf_count;
    result.resumed = true;
    result.resumed_files = resume->files.size();
    for (const auto& f : resume->files)
      result.resumed_records += f.records;
  } else {
    ABS_ASSIGN_OR_RETURN(result.partitions, ResolveSlice(client, o.ns, o.slice));
    auto gens = client.InfoAll("partition-generation");
    if (gens.ok()) {
      for (const auto& [node, gen] : *gens)
        result.nodes_at_start.emplace_back(node, std::atoll(gen.c_str()));
    }
  }
  return Status::Ok();
}

// The records to expect (the nodes' object counts) and what a resumed run had done.
void EstimateProgress(client::Client& client, const BackupOptions& o,
                      const std::optional<Checkpoint>& resume, const BackupResult& result,
                      BackupProgress& progress_ref) {
  BackupProgress* progress = &progress_ref;
  uint64_t objects = 0;
  auto stats = client.InfoAll("namespace/" + o.ns);
  if (stats.ok()) {
    for (const auto& [node, text] : *stats) {
      for (auto& [k, v] : wire::ParseKeyValues(text)) {
        if (k == "master_objects") objects += std::strtoull(v.c_str(), nullptr, 10);
      }
    }
  }
  progress->estimated_records = objects * result.partitions.Count() / kPartitions;
  if (resume) {
    progress->records = result.resumed_records;
    progress->files = resume->files.size();
    uint64_t bytes = 0;
    for (const auto& f : resume->files)
      bytes += f.size;
    progress->bytes = bytes;
  }
}

// The checkpoint as this run starts it: the resumed one's files and cursors, if any.
void StartCheckpoint(FileSet& files, const std::string& fingerprint, const BackupResult& result,
                     const std::optional<Checkpoint>& resume) {
  const BackupOptions& o = files.options;
  files.checkpoint.ns = o.ns;
  files.checkpoint.created_unix_ms = result.created_unix_ms;
  files.checkpoint.fingerprint = fingerprint;
  files.checkpoint.partitions = result.partitions;
  files.checkpoint.nodes_at_start = result.nodes_at_start;
  if (resume) {
    files.files = resume->files;
    files.next_id = resume->next_file_id;
    files.first_file = resume->first_file;
    files.first_file_taken = !resume->first_file.empty();
    files.checkpoint.definitions_done = resume->definitions_done;
    files.checkpoint.sindex_count = resume->sindex_count;
    files.checkpoint.udf_count = resume->udf_count;
    for (const auto& p : resume->progress)
      files.partitions[p.pid] = p;
  }
}

// Before any file: marks the directory as an abs backup, so one that never finishes is
// refused by restore and named by verify rather than taken for a foreign backup.
Status WriteStartFile(FileSet& files, const BackupResult& result) {
  const BackupOptions& o = files.options;
  storage::Storage& storage = files.storage;
  nlohmann::ordered_json start;
  start["format"] = "abs-start/1";
  start["namespace"] = o.ns;
  start["slice"] = result.slice;
  start["created"] = FormatRfc3339Millis(result.created_unix_ms);
  files.opened.push_back(files.Path(kStartFile));
  Status st = storage.PutAtomic(
      files.Path(kStartFile), start.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
  return st.WithContext("starting the backup");
}

// Secondary-index and UDF definitions go first, into their own file.
Status WriteDefinitions(client::Client& client, FileSet& files, BackupResult& result) {
  const BackupOptions& o = files.options;
  std::vector<asb::SindexDefinition> sindexes;
  std::vector<asb::UdfDefinition> udfs;
  if (!o.no_indexes) {
    auto s = FetchSindexes(client, o.ns);
    if (!s.ok()) return s.status();
    sindexes = std::move(s).value();
  }
  if (!o.no_udfs) {
    auto u = FetchUdfs(client);
    if (!u.ok()) return u.status();
    udfs = std::move(u).value();
  }
  std::optional<BackupFile> definitions;
  if (!sindexes.empty() || !udfs.empty()) {
    std::string text;
    for (const auto& u : udfs)
      asb::Encoder::AppendUdf(text, u);
    for (const auto& s : sindexes)
      asb::Encoder::AppendSindex(text, s);
    std::string name =
        "metadata_" + o.ns + "_" + std::to_string(files.next_id.fetch_add(1)) + ".asb";
    auto f = AsbFile::Open(files, name);
    Status st = f.ok() ? (*f)->Write(text, 0) : f.status();
    if (!st.ok()) return st;
    auto closed = (*f)->Close();
    if (!closed.ok()) return closed.status();
    definitions = std::move(closed).value();
  }
  result.sindex_count = sindexes.size();
  result.udf_count = udfs.size();
  {
    std::lock_guard lock(files.mu);
    files.checkpoint.definitions_done = true;
    files.checkpoint.sindex_count = result.sindex_count;
    files.checkpoint.udf_count = result.udf_count;
  }
  files.Commit(std::move(definitions), {});
  return Status::Ok();
}

// The records of the partitions not yet done, by `parallel` scan workers; each partition's
// count into `result`.
Status ScanRecords(client::Client& client, FileSet& files, BackupResult& result,
                   BackupProgress* progress) {
  const BackupOptions& o = files.options;
  storage::Storage& storage = files.storage;
  PartitionSet remaining = result.partitions;
  std::map<uint32_t, PartitionProgress> resume_from;
  {
    std::lock_guard lock(files.mu);
    resume_from = files.partitions;
  }
  PartitionSet left;
  for (uint32_t pid : remaining.Ids()) {
    auto it = resume_from.find(pid);
    if (it == resume_from.end() || !it->second.done) left.Add(pid);
  }
  if (o.max_concurrent_nodes > 0) {
    files.node_gate = std::make_unique<client::NodeGate>(o.max_concurrent_nodes);
  }
  auto groups = left.Split(static_cast<size_t>(o.parallel));
  uint32_t rps =
      o.records_per_second == 0 || groups.empty()
          ? 0
          : std::max<uint32_t>(1, o.records_per_second / static_cast<uint32_t>(groups.size()));
  // parallel-write below the workers: they share that many files. Open files' buffers
  // (a part each on a cloud storage) may take half of the memory budget's room (what
  // jobs already running leave); the other half is for parts in flight. Beyond that the
  // workers share fewer files.
  size_t open_files = o.parallel_write > 0
                          ? std::min(static_cast<size_t>(o.parallel_write), groups.size())
                          : groups.size();
  auto memory = ProcessMemoryBudget();
  const size_t per_file = storage.writer_memory_bytes() + kFlushBytes;
  const size_t fit = std::max<size_t>(1, memory->room() / 2 / per_file);
  if (open_files > fit) {
    ABS_LOG_WARN(
        "backup of {}: {} files open at once would buffer {} MiB, more than half of what the "
        "memory budget has free ({} of {} MiB); the scan workers share {} files "
        "(parallel-write) instead",
        o.ns, open_files, open_files * per_file >> 20, memory->room() >> 20, memory->limit() >> 20,
        fit);
    open_files = fit;
  }
  MemoryBudget::Lease buffers = memory->Charge(open_files * per_file);
  std::unique_ptr<WriterPool> pool;
  if (open_files < groups.size()) {
    pool = std::make_unique<WriterPool>(files, open_files, groups.size(), progress);
  }
  std::vector<std::unique_ptr<ScanWorker>> workers;
  for (size_t i = 0; i < groups.size(); ++i) {
    workers.push_back(std::make_unique<ScanWorker>(client, files, groups[i], static_cast<int>(i),
                                                   rps, progress, resume_from, pool.get()));
  }
  std::vector<Status> statuses(workers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = workers[i]->Run();
      if (!statuses[i].ok()) files.stop = true;
    });
  }
  for (auto& t : threads)
    t.join();
  if (progress && files.node_gate) progress->peak_concurrent_nodes = files.node_gate->peak();
  for (const auto& st : statuses) {
    if (st.code() == StatusCode::kCancelled) return st;
  }
  for (const auto& st : statuses) {
    if (!st.ok() && !IsStoppedBySibling(st)) return st.WithContext("backup of " + o.ns);
  }
  if (pool) {
    Status closed = pool->CloseAll();
    if (!closed.ok()) return closed.WithContext("backup of " + o.ns);
  }
  std::lock_guard lock(files.mu);
  for (uint32_t pid : result.partitions.Ids()) {
    auto it = files.partitions.find(pid);
    uint64_t records = it == files.partitions.end() ? 0 : it->second.records;
    result.records_per_partition.emplace_back(pid, records);
    result.record_count += records;
  }
  return Status::Ok();
}

// The manifest, then metadata.yaml (its presence marks the backup complete), sealed with
// each other's digest.
Status WriteDescriptions(FileSet& files, BackupResult& result) {
  const BackupOptions& o = files.options;
  storage::Storage& storage = files.storage;
  if (!files.checkpoint_error.ok()) {
    ABS_LOG_WARN("backup of {}: a checkpoint could not be written (the backup went on): {}", o.ns,
                 files.checkpoint_error.ToString());
  }
  std::sort(files.files.begin(), files.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.name < b.name; });
  result.files = files.files;
  for (const auto& f : result.files)
    result.byte_count += f.size;
  result.finished_unix_ms = UnixNowMillis();
  const backupset::SealedDescriptions sealed = backupset::SealDescriptions(result);
  Status st = storage.PutAtomic(files.Path(kManifestFile), sealed.manifest);
  if (st.ok()) st = storage.PutAtomic(files.Path(kMetadataFile), sealed.metadata);
  if (!st.ok()) {
    (void)storage.Remove(files.Path(kManifestFile));
    return st.WithContext("writing the backup's metadata");
  }
  return Status::Ok();
}

}  // namespace

Result<BackupResult> RunBackup(client::Client& client, storage::Storage& storage,
                               const BackupOptions& o, BackupProgress* progress) {
  ABS_RETURN_IF_ERROR(CheckOptions(o));
  BackupResult result = NewResult(o);
  const std::string fingerprint = OptionsFingerprint(o);
  std::optional<Checkpoint> resume;
  if (o.resumable) {
    ABS_ASSIGN_OR_RETURN(resume, ResumeOrStartOver(storage, o, fingerprint));
  }
  ABS_RETURN_IF_ERROR(ResolveWhatToRead(client, o, resume, result));
  if (progress) EstimateProgress(client, o, resume, result, *progress);

  FileSet files(storage, o);
  StartCheckpoint(files, fingerprint, result, resume);
  auto fail = [&](const Status& st) -> Status {
    // A resumable backup that failed keeps its work for the next attempt: its checkpoint
    // says what is complete. Otherwise (or cancelled) nothing is left behind that could be
    // mistaken for a backup.
    const bool keep = o.keep_on_cancel && o.keep_on_cancel->load();
    if (o.resumable && (st.code() != StatusCode::kCancelled || keep)) return st;
    std::lock_guard lock(files.mu);
    for (const auto& path : files.opened)
      (void)storage.Remove(path);
    for (const auto& f : files.files)
      (void)storage.Remove(files.Path(f.name));
    (void)storage.Remove(files.Path(kCheckpointFile));
    (void)storage.Remove(files.Path(kStartFile));
    return st;
  };
  Status st;
  if (!resume) st = WriteStartFile(files, result);
  if (st.ok() && !files.checkpoint.definitions_done) st = WriteDefinitions(client, files, result);
  if (st.ok() && !o.no_records && !result.partitions.empty()) {
    st = ScanRecords(client, files, result, progress);
  }
  if (st.ok() && o.cancel && o.cancel->load()) {
    st = Status::Cancelled("backup of " + o.ns + " cancelled");
  }
  if (st.ok()) st = WriteDescriptions(files, result);
  if (!st.ok()) return fail(st);
  if (o.resumable) {
    // Finished: the checkpoint has done its job. Left behind, it is only ignored.
    Status removed = storage.Remove(files.Path(kCheckpointFile));
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      ABS_LOG_WARN("backup of {}: cannot remove its checkpoint: {}", o.ns, removed.ToString());
    }
  }
  return result;
}

std::string OptionsFingerprint(const BackupOptions& o) {
  nlohmann::json j;
  j["namespace"] = o.ns;
  j["sets"] = o.sets;
  j["bins"] = o.bins;
  j["filter"] = Base64Encode(o.filter);
  j["modified-after-ns"] = o.modified_after_unix_ns;
  j["modified-before-ns"] = o.modified_before_unix_ns;
  j["no-records"] = o.no_records;
  j["no-indexes"] = o.no_indexes;
  j["no-udfs"] = o.no_udfs;
  j["compact"] = o.compact;
  j["compression"] = o.codec.CompressionName();
  j["compression-level"] = o.codec.compression_level;
  j["encryption"] = o.codec.EncryptionName();
  // The key itself stays out; a different key is a different backup all the same.
  j["key"] =
      o.codec.key.empty() ? "" : storage::cloud::Sha256Hex("abs-checkpoint-key:" + o.codec.key);
  return storage::cloud::Sha256Hex(j.dump()).substr(0, 32);
}

}  // namespace absvc::backup
