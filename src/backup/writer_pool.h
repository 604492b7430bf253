// The backup engine's shared-files stage (parallel-write below parallel): scan workers
// lease one of fewer open files for each chunk. Internal to the engine.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "backup/file_set.h"

namespace absvc::backup {

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

}  // namespace absvc::backup
