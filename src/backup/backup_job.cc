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

// The backup set's format, as this engine writes it.
using backupset::Checkpoint;
using backupset::FormatCheckpoint;
using backupset::FormatRfc3339Millis;
using backupset::kCheckpointFile;
using backupset::kManifestFile;
using backupset::kMetadataFile;
using backupset::kPartitions;
using backupset::kStartFile;
using backupset::ParseCheckpoint;
using backupset::PartitionProgress;
using backupset::PartitionSet;
namespace {

constexpr size_t kFlushBytes = 64 << 10;

// The files of one backup: names, the shared file counter, who gets "# first-file", and
// the checkpoint: complete files and each partition's progress, changed together under
// one lock so that a checkpoint never names a file whose records its cursors do not
// cover, nor counts records that are not in a file it names.
struct FileSet {
  storage::Storage& storage;
  const BackupOptions& options;
  RateLimiter bandwidth;
  std::atomic<uint32_t> next_id{1};
  std::atomic<bool> first_file_taken{false};
  std::mutex mu;
  std::vector<BackupFile> files;
  std::vector<std::string> opened;  // every path created, for cleanup on failure
  std::string first_file;
  Checkpoint checkpoint;                             // the rest of what it records
  std::map<uint32_t, PartitionProgress> partitions;  // started or done
  Status checkpoint_error;                           // the last failed write, for the log
  // The first scan worker to fail stops the others: their work would only be discarded
  // (or, resumable, scanned again from the checkpoint).
  std::atomic<bool> stop{false};
  std::unique_ptr<client::NodeGate> node_gate;  // max-concurrent-nodes, shared by the workers

  FileSet(storage::Storage& s, const BackupOptions& o)
      : storage(s), options(o), bandwidth(o.bandwidth_bytes_per_second) {}
  std::string Path(const std::string& name) const {
    return options.directory.empty() ? name : options.directory + "/" + name;
  }

  // A file is complete (if given), and `progress` is where its writer's partitions stand
  // with every record of them in complete files. Rewrites the checkpoint when resumable.
  void Commit(std::optional<BackupFile> file, const std::vector<PartitionProgress>& progress) {
    std::vector<BackupFile> complete;
    if (file) complete.push_back(std::move(*file));
    Commit(std::move(complete), progress);
  }
  void Commit(std::vector<BackupFile> complete, const std::vector<PartitionProgress>& progress) {
    std::lock_guard lock(mu);
    for (auto& f : complete)
      files.push_back(std::move(f));
    for (const auto& p : progress)
      if (p.done || p.last_digest) partitions[p.pid] = p;
    if (!options.resumable) return;
    checkpoint.next_file_id = next_id.load();
    // The file with "# first-file" counts only once complete: until then a resume drops
    // it, and a new file takes the marker.
    checkpoint.first_file.clear();
    for (const auto& f : files)
      if (f.name == first_file) checkpoint.first_file = first_file;
    checkpoint.files = files;
    checkpoint.progress.clear();
    for (const auto& [pid, p] : partitions)
      checkpoint.progress.push_back(p);
    // A failed write leaves the previous checkpoint, which is still true: a resume from
    // it keeps fewer files and scans more. The backup itself goes on.
    Status st = storage.PutAtomic(Path(kCheckpointFile), FormatCheckpoint(checkpoint));
    if (!st.ok()) checkpoint_error = st;
  }
};

// One open .asb file: header written at open, bytes counted after compression and
// encryption, closed into the FileSet's list.
class AsbFile {
 public:
  static Result<std::unique_ptr<AsbFile>> Open(FileSet& set, const std::string& name) {
    std::unique_ptr<AsbFile> f(new AsbFile(set, name));
    {
      std::lock_guard lock(set.mu);
      set.opened.push_back(set.Path(name));
    }
    ABS_ASSIGN_OR_RETURN(auto stored, set.storage.OpenWriter(set.Path(name)));
    f->writer_ = storage::EncodeWriter(std::move(stored), set.options.codec, &f->hash_);
    std::string header;
    const bool first = !set.first_file_taken.exchange(true);
    if (first) {
      std::lock_guard lock(set.mu);
      set.first_file = name;
    }
    asb::Encoder::AppendHeader(header, set.options.ns, first);
    ABS_RETURN_IF_ERROR(f->writer_->Write(header));
    return f;
  }

  Status Write(std::string_view text, uint64_t records) {
    set_.bandwidth.Acquire(text.size());
    records_ += records;
    return writer_->Write(text);
  }
  uint64_t stored_bytes() const { return writer_->bytes_written(); }

  // The complete file, for FileSet::Commit.
  Result<BackupFile> Close() {
    ABS_RETURN_IF_ERROR(writer_->Close());
    return BackupFile{name_,    writer_->bytes_written(), hash_->sha256_hex(),
                      records_, hash_->block_bytes(),     hash_->block_sha256_hex()};
  }

 private:
  AsbFile(FileSet& set, std::string name) : set_(set), name_(std::move(name)) {}
  FileSet& set_;
  std::string name_;
  std::unique_ptr<storage::Writer> writer_;
  storage::HashingWriter* hash_ = nullptr;
  uint64_t records_ = 0;
};

// parallel-write: the files a backup writes at once, fewer than its scan workers. A worker
// leases a free file for each chunk it flushes (waiting while all are busy), so records of
// several workers share files and a file rotates at file-limit whoever filled it.
//
// The checkpoint must stay a consistent cut: the files it names hold exactly the records
// its cursors count. A worker's chunks are in its scan order; its cursor may advance past a
// chunk only once that chunk and every earlier one are in complete files, and a complete
// file may be named only once every chunk in it is below its worker's cursor. Each close
// computes the largest such cut (shrinking cursors until both hold) and commits it.
class WriterPool {
 public:
  WriterPool(FileSet& files, size_t writers, size_t workers, BackupProgress* progress)
      : files_(files), slots_(writers), pending_(workers), progress_(progress) {}

  // `chunk` holds `records` of worker `worker`, and `changed` is where that worker's
  // partitions whose cursors moved stand after them. An empty chunk only moves cursors
  // (partitions finished without more records).
  Status Write(size_t worker, std::string_view chunk, uint64_t records,
               std::vector<PartitionProgress> changed) {
    if (chunk.empty()) {
      std::lock_guard lock(mu_);
      pending_[worker].push_back({kNoFile, std::move(changed)});
      return CommitLocked();
    }
    Slot* slot = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        for (auto& s : slots_)
          if (!s.busy) return true;
        return false;
      });
      for (auto& s : slots_) {
        if (!s.busy) {
          slot = &s;
          break;
        }
      }
      slot->busy = true;
    }
    Status st = WriteToSlot(*slot, worker, chunk, records, std::move(changed));
    {
      std::lock_guard lock(mu_);
      slot->busy = false;
    }
    cv_.notify_one();
    return st;
  }

  // Once every worker has finished: closes the files still open and commits the rest.
  Status CloseAll() {
    for (auto& slot : slots_) {
      if (slot.file) ABS_RETURN_IF_ERROR(CloseSlot(slot));
    }
    std::lock_guard lock(mu_);
    return CommitLocked();
  }

 private:
  static constexpr uint64_t kNoFile = 0;
  struct Slot {
    bool busy = false;
    std::unique_ptr<AsbFile> file;
    uint64_t file_id = kNoFile;
  };
  struct Chunk {
    uint64_t file_id;
    std::vector<PartitionProgress> changed;
  };

  Status WriteToSlot(Slot& slot, size_t worker, std::string_view chunk, uint64_t records,
                     std::vector<PartitionProgress> changed) {
    if (!slot.file) {
      uint32_t id = files_.next_id.fetch_add(1);
      size_t index = static_cast<size_t>(&slot - slots_.data());
      std::string name =
          std::to_string(index) + "_" + files_.options.ns + "_" + std::to_string(id) + ".asb";
      ABS_ASSIGN_OR_RETURN(slot.file, AsbFile::Open(files_, name));
      slot.file_id = id;
      if (progress_) ++progress_->files;
    }
    {
      // Recorded before the bytes go out: a close by another worker never overlooks it.
      std::lock_guard lock(mu_);
      pending_[worker].push_back({slot.file_id, std::move(changed)});
    }
    uint64_t before = slot.file->stored_bytes();
    ABS_RETURN_IF_ERROR(slot.file->Write(chunk, records));
    if (progress_) progress_->bytes += slot.file->stored_bytes() - before;
    if (slot.file->stored_bytes() >= files_.options.file_limit_bytes) return CloseSlot(slot);
    return Status::Ok();
  }

  Status CloseSlot(Slot& slot) {
    auto closed = slot.file->Close();
    slot.file.reset();
    if (!closed.ok()) return closed.status();
    std::lock_guard lock(mu_);
    closed_[slot.file_id] = std::move(closed).value();
    slot.file_id = kNoFile;
    return CommitLocked();
  }

  // Commits the largest consistent cut, if it moved.
  Status CommitLocked() {
    auto complete = [&](uint64_t id) { return id == kNoFile || closed_.count(id) > 0; };
    // Each worker's cursor: how many of its pending chunks are in.
    std::vector<size_t> cut(pending_.size());
    for (size_t w = 0; w < pending_.size(); ++w) {
      while (cut[w] < pending_[w].size() && complete(pending_[w][cut[w]].file_id))
        ++cut[w];
    }
    // A closed file with a chunk past its worker's cursor cannot be named yet, and no
    // cursor may pass a chunk in such a file: shrink until both hold.
    std::set<uint64_t> held;
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t w = 0; w < pending_.size(); ++w) {
        for (size_t i = cut[w]; i < pending_[w].size(); ++i) {
          uint64_t id = pending_[w][i].file_id;
          if (id != kNoFile && closed_.count(id) && held.insert(id).second) changed = true;
        }
      }
      for (size_t w = 0; w < pending_.size(); ++w) {
        for (size_t i = 0; i < cut[w]; ++i) {
          if (held.count(pending_[w][i].file_id)) {
            cut[w] = i;
            changed = true;
            break;
          }
        }
      }
    }
    std::vector<BackupFile> named;
    for (auto it = closed_.begin(); it != closed_.end();) {
      if (held.count(it->first)) {
        ++it;
        continue;
      }
      named.push_back(std::move(it->second));
      it = closed_.erase(it);
    }
    std::vector<PartitionProgress> progress;
    for (size_t w = 0; w < pending_.size(); ++w) {
      for (size_t i = 0; i < cut[w]; ++i) {
        for (auto& p : pending_[w].front().changed)
          progress.push_back(std::move(p));
        pending_[w].pop_front();
      }
    }
    if (!named.empty() || !progress.empty()) files_.Commit(std::move(named), progress);
    return Status::Ok();
  }

  FileSet& files_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  std::vector<std::deque<Chunk>> pending_;  // by worker, in scan order
  std::map<uint64_t, BackupFile> closed_;   // complete, not yet named in the checkpoint
  BackupProgress* progress_;
};

std::string FilterExpression(const BackupOptions& o) {
  std::vector<std::string> parts;
  if (!o.filter.empty()) parts.push_back(o.filter);
  if (o.modified_after_unix_ns > 0) {
    parts.push_back(
        wire::exp::Ge(wire::exp::LastUpdate(), wire::exp::Int(o.modified_after_unix_ns)));
  }
  if (o.modified_before_unix_ns > 0) {
    parts.push_back(
        wire::exp::Lt(wire::exp::LastUpdate(), wire::exp::Int(o.modified_before_unix_ns)));
  }
  if (parts.empty()) return "";
  if (parts.size() == 1) return parts[0];
  return wire::exp::And(parts);
}

constexpr std::string_view kStoppedBySibling = "stopped: another scan worker failed";
Status StoppedBySibling() {
  return Status::Internal(std::string(kStoppedBySibling));
}
bool IsStoppedBySibling(const Status& st) {
  return st.code() == StatusCode::kInternal &&
         st.message().find(kStoppedBySibling) != std::string::npos;
}

// One scan worker: its partitions, its files, rotated at file-limit.
class ScanWorker {
 public:
  // `resume_from`: where a checkpoint left some of the partitions.
  // With `pool`, chunks go to the pool's shared files instead of this worker's own.
  ScanWorker(client::Client& client, FileSet& files, PartitionSet partitions, int index,
             uint32_t rps, BackupProgress* progress,
             const std::map<uint32_t, PartitionProgress>& resume_from, WriterPool* pool)
      : client_(client),
        files_(files),
        pool_(pool),
        index_(index),
        rps_(rps),
        progress_(progress),
        encoder_({.compact = files.options.compact}) {
    for (uint32_t pid : partitions.Ids()) {
      client::PartitionCursor c;
      c.pid = static_cast<uint16_t>(pid);
      if (auto it = resume_from.find(pid); it != resume_from.end()) {
        c.records = it->second.records;
        if (it->second.last_digest) {
          c.has_digest = true;
          c.last_digest = *it->second.last_digest;
        }
      }
      cursors_.push_back(c);
    }
    if (pool_) last_sent_ = Snapshot();
  }

  Status Run() {
    const BackupOptions& o = files_.options;
    client::ScanRequest req;
    req.ns = o.ns;
    req.sets = o.sets;
    req.bins = o.bins;
    req.filter = FilterExpression(o);
    req.records_per_second = rps_;
    if (o.socket_timeout.count() > 0) req.socket_timeout = o.socket_timeout;
    req.total_timeout = o.total_timeout;
    req.compress = o.scan_compression;
    req.max_concurrent_nodes = 1;  // one callback thread: this worker's files need no lock
    req.node_gate = files_.node_gate.get();
    if (o.scan_slots && !o.scan_slots->Acquire(o.cancel)) {
      return Status::Cancelled("backup of " + o.ns + " cancelled");
    }
    Status st = client_.ScanPartitions(
        req, cursors_, [this](const client::ScanRecordView& r) { return OnRecord(r); });
    if (o.scan_slots) o.scan_slots->Release();
    if (pool_) {
      // The last chunk carries the finished partitions; the pool closes the files.
      return st.ok() ? SendChunk() : st;
    }
    if (st.ok()) st = Flush();
    if (st.ok() && file_) st = CloseFile();
    // Every record is in a complete file now: the partitions finished are done for good.
    if (st.ok()) files_.Commit(std::nullopt, Snapshot());
    return st;
  }

  const std::vector<client::PartitionCursor>& cursors() const { return cursors_; }

 private:
  Status OnRecord(const client::ScanRecordView& r) {
    if (files_.options.cancel && files_.options.cancel->load(std::memory_order_relaxed)) {
      return Status::Cancelled("backup of " + files_.options.ns + " cancelled");
    }
    if (files_.stop.load(std::memory_order_relaxed)) return StoppedBySibling();
    Status st = encoder_.AppendRecord(buf_, r.ns, r.set, r.user_key, r.digest, r.generation,
                                      r.void_time, *r.bins);
    if (!st.ok()) {
      return st.WithContext("record in partition " + std::to_string(r.partition_id) + " of " +
                            std::string(r.ns));
    }
    ++buffered_records_;
    if (progress_) ++progress_->records;
    if (buf_.size() < kFlushBytes) return Status::Ok();
    // The client moves a partition's cursor past a record after this callback: a
    // checkpoint taken inside it must count this record itself.
    current_ = &r;
    st = Flush();
    current_ = nullptr;
    return st;
  }

  // Where this worker's partitions stand, every record counted being in buf_ or a file.
  // Runs on the scan's callback thread (one node at a time), which owns the cursors.
  std::vector<PartitionProgress> Snapshot() const {
    std::vector<PartitionProgress> out;
    out.reserve(cursors_.size());
    for (const auto& c : cursors_) {
      PartitionProgress p;
      p.pid = c.pid;
      p.done = c.done;
      p.records = c.records;
      if (c.has_digest) p.last_digest = c.last_digest;
      if (current_ && current_->partition_id == c.pid) {
        p.last_digest = wire::DigestFromBytes(
            std::string_view(reinterpret_cast<const char*>(current_->digest), wire::kDigestSize));
        ++p.records;
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  // Pool mode: the buffered records and the cursors that moved since the last chunk.
  Status SendChunk() {
    std::vector<PartitionProgress> now = Snapshot(), changed;
    for (size_t i = 0; i < now.size(); ++i) {
      const auto& a = now[i];
      const auto& b = last_sent_[i];
      if (a.done != b.done || a.records != b.records || a.last_digest != b.last_digest) {
        changed.push_back(a);
      }
    }
    last_sent_ = std::move(now);
    Status st =
        pool_->Write(static_cast<size_t>(index_), buf_, buffered_records_, std::move(changed));
    buf_.clear();
    buffered_records_ = 0;
    return st;
  }

  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    if (pool_) return SendChunk();
    if (!file_) {
      std::string name = std::to_string(index_) + "_" + files_.options.ns + "_" +
                         std::to_string(files_.next_id.fetch_add(1)) + ".asb";
      ABS_ASSIGN_OR_RETURN(file_, AsbFile::Open(files_, name));
      if (progress_) ++progress_->files;
    }
    uint64_t before = file_->stored_bytes();
    ABS_RETURN_IF_ERROR(file_->Write(buf_, buffered_records_));
    if (progress_) progress_->bytes += file_->stored_bytes() - before;
    buf_.clear();
    buffered_records_ = 0;
    if (file_->stored_bytes() >= files_.options.file_limit_bytes) return CloseFile();
    return Status::Ok();
  }

  Status CloseFile() {
    auto closed = file_->Close();
    file_.reset();
    if (!closed.ok()) return closed.status();
    files_.Commit(std::move(closed).value(), Snapshot());
    return Status::Ok();
  }

  client::Client& client_;
  FileSet& files_;
  WriterPool* pool_;
  std::vector<PartitionProgress> last_sent_;  // pool mode: the cursors as last sent
  const client::ScanRecordView* current_ = nullptr;
  int index_;
  uint32_t rps_;
  BackupProgress* progress_;
  asb::Encoder encoder_;
  std::vector<client::PartitionCursor> cursors_;
  std::string buf_;
  uint64_t buffered_records_ = 0;
  std::unique_ptr<AsbFile> file_;
};

char SindexBinType(const std::string& t) {
  if (t == "string" || t == "STRING") return 'S';
  if (t == "geo2dsphere" || t == "GEO2DSPHERE") return 'G';
  if (t == "blob" || t == "BLOB") return 'B';
  return 'N';
}

char SindexIndexType(const std::string& t) {
  if (t == "list" || t == "LIST") return 'L';
  if (t == "mapkeys" || t == "MAPKEYS") return 'K';
  if (t == "mapvalues" || t == "MAPVALUES") return 'V';
  return 'N';
}

Result<std::vector<asb::SindexDefinition>> FetchSindexes(client::Client& c, const std::string& ns) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("sindex-list:ns=" + ns));
  if (auto err = wire::ParseInfoError(list)) {
    return Status::Server(err->code, "sindex-list: " + err->message);
  }
  std::vector<asb::SindexDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::map<std::string, std::string> kv;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ':'))
      kv[k] = v;
    if (kv["ns"] != ns || kv["indexname"].empty()) continue;
    asb::SindexDefinition s;
    s.ns = ns;
    s.name = kv["indexname"];
    s.set = (kv["set"] == "null" || kv["set"] == "NULL") ? "" : kv["set"];
    s.bin = kv["bin"];
    s.bin_type = SindexBinType(kv["type"]);
    s.index_type = SindexIndexType(kv["indextype"]);
    s.context = (kv["context"] == "null" || kv["context"] == "NULL") ? "" : kv["context"];
    if (s.bin.empty() || s.bin == "null") continue;  // expression indexes: not in .asb 3.1
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<asb::UdfDefinition>> FetchUdfs(client::Client& c) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("udf-list"));
  std::vector<asb::UdfDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::string name;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ',')) {
      if (k == "filename") name = v;
    }
    if (name.empty()) continue;
    ABS_ASSIGN_OR_RETURN(std::string answer, c.InfoAny("udf-get:filename=" + name));
    std::string content;
    for (auto& [k, v] : wire::ParseKeyValues(answer)) {
      if (k == "content") {
        auto decoded = Base64Decode(v);
        if (!decoded) return Status::Corrupt("udf-get " + name + ": content is not base64");
        content = *decoded;
      }
    }
    out.push_back({'L', name, content});
  }
  return out;
}

// What a resumable backup finds in its directory.
struct Resume {
  std::optional<Checkpoint> checkpoint;  // usable: resume from it
  std::string start_over_because;        // else, when there is something to start over
};

// Reads the directory's start file and checkpoint. A storage failure is an error (the
// attempt fails and the work on storage stays); anything unusable is a reason to start
// over. A finished backup is kConflict.
Result<Resume> FindResume(storage::Storage& storage, const BackupOptions& o,
                          const std::string& fingerprint) {
  auto path = [&](const std::string& name) {
    return o.directory.empty() ? name : o.directory + "/" + name;
  };
  Resume r;
  auto listed = storage.List(o.directory.empty() ? "" : o.directory + "/");
  if (!listed.ok()) return listed.status().WithContext("looking for a backup to resume");
  std::map<std::string, uint64_t> present;
  for (const auto& obj : *listed) {
    std::string name = o.directory.empty() ? obj.path : obj.path.substr(o.directory.size() + 1);
    if (name.find('/') == std::string::npos) present[name] = obj.size;
  }
  if (present.empty()) return r;  // nothing there: a fresh start
  if (present.count(kMetadataFile)) {
    return Status::Conflict("the backup in " + (o.directory.empty() ? "." : o.directory) +
                            " is already complete");
  }
  if (!present.count(kStartFile)) {
    // Not ours: never cleared to make room.
    return Status::InvalidArgument((o.directory.empty() ? std::string(".") : o.directory) +
                                   " holds " + std::to_string(present.size()) +
                                   " files but no abs backup in progress (no " + kStartFile +
                                   "); give an empty or new directory");
  }
  if (!present.count(kCheckpointFile)) {
    r.start_over_because = "it has no checkpoint: no file was complete when it stopped";
    return r;
  }
  auto text = storage.ReadAll(path(kCheckpointFile));
  if (!text.ok()) return text.status().WithContext("reading the checkpoint");
  auto cp = ParseCheckpoint(*text);
  if (!cp.ok()) {
    r.start_over_because = cp.status().message();
    return r;
  }
  auto start = storage.ReadAll(path(kStartFile));
  if (!start.ok()) return start.status().WithContext("reading " + std::string(kStartFile));
  auto start_json = nlohmann::json::parse(*start, nullptr, false);
  std::string created = StringField(start_json, "created");
  if (cp->ns != o.ns) {
    r.start_over_because = "its checkpoint is of namespace " + cp->ns.substr(0, 64);
  } else if (created != FormatRfc3339Millis(cp->created_unix_ms)) {
    r.start_over_because = "its checkpoint is from another backup (started " +
                           FormatRfc3339Millis(cp->created_unix_ms) + ", the directory's " +
                           created.substr(0, 40) + ")";
  } else if (cp->fingerprint != fingerprint) {
    r.start_over_because =
        "it was started with other options (sets, bins, filter, time bounds or codec)";
  }
  if (!r.start_over_because.empty()) return r;
  for (const auto& f : cp->files) {
    auto it = present.find(f.name);
    if (it == present.end() || it->second != f.size) {
      r.start_over_because =
          "file " + f.name + (it == present.end() ? " is missing" : " has changed");
      return r;
    }
  }
  r.checkpoint = std::move(cp).value();
  // What was written after the checkpoint goes: it is written again.
  std::set<std::string> keep = {kStartFile, kCheckpointFile};
  for (const auto& f : r.checkpoint->files)
    keep.insert(f.name);
  for (const auto& [name, size] : present) {
    if (keep.count(name)) continue;
    Status st = storage.Remove(path(name));
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      return st.WithContext("removing what was written after the checkpoint");
    }
  }
  // And the files that were being written when it stopped.
  ABS_RETURN_IF_ERROR(storage.RemoveUnfinishedWrites(o.directory)
                          .WithContext("removing the files cut short when it stopped"));
  return r;
}

}  // namespace

Result<BackupResult> RunBackup(client::Client& client, storage::Storage& storage,
                               const BackupOptions& o, BackupProgress* progress) {
  if (o.ns.empty()) return Status::InvalidArgument("backup needs a namespace");
  if (o.parallel < 1 || o.parallel > 1024)
    return Status::InvalidArgument("parallel must be 1..1024");
  if (o.modified_before_unix_ns > 0 && o.modified_before_unix_ns <= o.modified_after_unix_ns) {
    return Status::InvalidArgument("modified-before must be after modified-after");
  }
  BackupResult result;
  result.ns = o.ns;
  result.codec = o.codec;
  result.codec.key.clear();
  result.slice = o.slice.Describe();
  result.from_unix_ns = o.modified_after_unix_ns;
  result.created_unix_ms = UnixNowMillis();

  const std::string fingerprint = OptionsFingerprint(o);
  std::optional<Checkpoint> resume;
  if (o.resumable) {
    ABS_ASSIGN_OR_RETURN(Resume found, FindResume(storage, o, fingerprint));
    resume = std::move(found.checkpoint);
    if (!resume && !found.start_over_because.empty()) {
      if (o.on_start_over) o.on_start_over(found.start_over_because);
      ABS_LOG_WARN("backup of {} in {} starts over: {}", o.ns, o.directory,
                   found.start_over_because);
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
    }
  }

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
  if (progress) {
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

  FileSet files(storage, o);
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
  // Before any file: marks the directory as an abs backup, so one that never finishes is
  // refused by restore and named by verify rather than taken for a foreign backup.
  if (!resume) {
    nlohmann::ordered_json start;
    start["format"] = "abs-start/1";
    start["namespace"] = o.ns;
    start["slice"] = result.slice;
    start["created"] = FormatRfc3339Millis(result.created_unix_ms);
    files.opened.push_back(files.Path(kStartFile));
    Status st =
        storage.PutAtomic(files.Path(kStartFile),
                          start.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!st.ok()) return fail(st.WithContext("starting the backup"));
  }

  // Secondary-index and UDF definitions go first, into their own file.
  if (!files.checkpoint.definitions_done) {
    std::vector<asb::SindexDefinition> sindexes;
    std::vector<asb::UdfDefinition> udfs;
    if (!o.no_indexes) {
      auto s = FetchSindexes(client, o.ns);
      if (!s.ok()) return fail(s.status());
      sindexes = std::move(s).value();
    }
    if (!o.no_udfs) {
      auto u = FetchUdfs(client);
      if (!u.ok()) return fail(u.status());
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
      if (!st.ok()) return fail(st);
      auto closed = (*f)->Close();
      if (!closed.ok()) return fail(closed.status());
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
  }

  if (!o.no_records && !result.partitions.empty()) {
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
          o.ns, open_files, open_files * per_file >> 20, memory->room() >> 20,
          memory->limit() >> 20, fit);
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
      if (st.code() == StatusCode::kCancelled) return fail(st);
    }
    for (const auto& st : statuses) {
      if (!st.ok() && !IsStoppedBySibling(st)) return fail(st.WithContext("backup of " + o.ns));
    }
    if (pool) {
      Status closed = pool->CloseAll();
      if (!closed.ok()) return fail(closed.WithContext("backup of " + o.ns));
    }
    std::lock_guard lock(files.mu);
    for (uint32_t pid : result.partitions.Ids()) {
      auto it = files.partitions.find(pid);
      uint64_t records = it == files.partitions.end() ? 0 : it->second.records;
      result.records_per_partition.emplace_back(pid, records);
      result.record_count += records;
    }
  }

  if (o.cancel && o.cancel->load())
    return fail(Status::Cancelled("backup of " + o.ns + " cancelled"));
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
    return fail(st.WithContext("writing the backup's metadata"));
  }
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
