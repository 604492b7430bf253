// The backup engine's output stage: the files of one backup and the checkpoint that names
// them (FileSet), and one open .asb file (AsbFile). Internal to the engine (backup_job.cc
// and its stages); not an API.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "asb/asb.h"
#include "backup/backup_job.h"
#include "backupset/checkpoint.h"
#include "backupset/metadata.h"
#include "client/node_gate.h"
#include "common/rate_limiter.h"
#include "storage/codec.h"

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

// Encoded records a scan worker buffers before it writes them out.
inline constexpr size_t kFlushBytes = 64 << 10;

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

}  // namespace absvc::backup
