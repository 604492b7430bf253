// The backup engine's scan stage: one scan worker reads its partitions, encodes each record
// into .asb text, and writes it to its own files or, with parallel-write, to the shared
// pool's; its cursors are what the checkpoint records. Internal to the engine.
#pragma once

#include <string>
#include <vector>

#include "backup/file_set.h"
#include "backup/writer_pool.h"
#include "client/client.h"
#include "wire/digest.h"
#include "wire/expression.h"

namespace absvc::backup {

inline std::string FilterExpression(const BackupOptions& o) {
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

inline constexpr std::string_view kStoppedBySibling = "stopped: another scan worker failed";
inline Status StoppedBySibling() {
  return Status::Internal(std::string(kStoppedBySibling));
}
inline bool IsStoppedBySibling(const Status& st) {
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

}  // namespace absvc::backup
