#include "restore/restore_job.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "backupset/metadata.h"
#include "common/log.h"
#include "common/memory_budget.h"
#include "common/rate_limiter.h"
#include "restore/definitions.h"
#include "restore/file_reader.h"
#include "restore/record_sink.h"
#include "restore/record_transform.h"
#include "restore/restore_plan.h"
#include "storage/layers.h"

namespace absvc::restore {
namespace {

// One worker's pipeline, reused from file to file: the reader and decoder of the file at
// hand, the transform, and a sink whose rows stay warm.
class FileRestorer {
 public:
  // `stop`: set when another worker's file failed; this one stops at its next record.
  FileRestorer(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
               size_t max_batch_bytes, const RecordTransform& transform, RestoreCounters& counters,
               RateLimiter& tps, RateLimiter& bandwidth, const std::atomic<bool>* stop = nullptr)
      : stop_(stop),
        storage_(storage),
        o_(o),
        transform_(transform),
        counters_(counters),
        tps_(tps),
        bandwidth_(bandwidth),
        sink_(o.disable_batch_writes
                  ? MakeSingleWriteSink(client, o.batch_size, max_batch_bytes, counters)
                  : MakeBatchSink(client, {o.batch_size, o.max_async_batches, max_batch_bytes},
                                  counters)),
        definitions_(client, transform, counters) {}

  // Restores one planned file. On any failure the records it read but did not write are
  // counted as failed, so the counters add up.
  Status Restore(const PlannedFile& file) {
    Status st = RestoreFile(file);
    if (!st.ok()) sink_->Abandon();
    return st;
  }

 private:
  Status RestoreFile(const PlannedFile& file) {
    const std::string& path = file.object.path;
    const uint64_t inserted_before = sink_->inserted();
    ABS_ASSIGN_OR_RETURN(
        auto reader, BackupFileReader::Open(storage_, file, o_.codec, bandwidth_, counters_.bytes));
    records_in_file_ = 0;
    Status st = DecodeAndWrite(reader->decoder(), path);
    // The checksum speaks first when the file itself may be at fault: a damaged file
    // often fails to decode too, and the mismatch is the better explanation. The last
    // batch waits for it. A stop for another reason (the cluster, a cancel) does not read
    // the rest of the file.
    if (st.ok() || st.code() == StatusCode::kCorrupt) {
      Status check = reader->CheckAgainstPlan();
      if (st.ok() && check.ok() && file.records >= 0 &&
          records_in_file_ != static_cast<uint64_t>(file.records)) {
        check = Status::Corrupt(storage_.Describe() + "/" + path + ": holds " +
                                std::to_string(records_in_file_) + " records, the manifest says " +
                                std::to_string(file.records));
      }
      if (check.code() == StatusCode::kCorrupt) {
        // Counted by the sink, which sends synchronously: exact. The figure for the whole
        // restore is added once every worker has stopped.
        return Status::Corrupt(check.message() + "; " +
                               std::to_string(sink_->inserted() - inserted_before) +
                               " of its records were already written");
      }
      ABS_RETURN_IF_ERROR(check);
    }
    if (!st.ok()) return st;
    return sink_->Flush().WithContext(path);
  }

  Status DecodeAndWrite(asb::Decoder& decoder, const std::string& path) {
    ABS_RETURN_IF_ERROR(decoder.ReadHeader());
    while (true) {
      ABS_ASSIGN_OR_RETURN(asb::ItemKind kind, decoder.Next(&record_, &sindex_, &udf_));
      if (kind == asb::ItemKind::kEnd) return Status::Ok();
      if (o_.cancel && o_.cancel->load(std::memory_order_relaxed)) {
        return Status::Cancelled("restore cancelled");
      }
      if (stop_ && stop_->load(std::memory_order_relaxed)) {
        return Status::Cancelled("restore stopped: another file failed");
      }
      if (kind == asb::ItemKind::kSindex) {
        if (!o_.no_indexes) ABS_RETURN_IF_ERROR(definitions_.CreateSindex(sindex_));
      } else if (kind == asb::ItemKind::kUdf) {
        if (!o_.no_udfs) ABS_RETURN_IF_ERROR(definitions_.PutUdf(udf_));
      } else {
        ++records_in_file_;
        if (!o_.no_records) ABS_RETURN_IF_ERROR(WriteRecord().WithContext(path));
      }
    }
  }

  Status WriteRecord() {
    ++counters_.read;
    switch (transform_.Apply(record_, &write_)) {
      case TransformVerdict::kFiltered:
        ++counters_.skipped;
        return Status::Ok();
      case TransformVerdict::kExpired:
        ++counters_.expired;
        return Status::Ok();
      case TransformVerdict::kWrite:
        break;
    }
    tps_.Acquire(1);
    return sink_->Add(write_);
  }

  const std::atomic<bool>* stop_;
  uint64_t records_in_file_ = 0;
  storage::Storage& storage_;
  const RestoreOptions& o_;
  const RecordTransform& transform_;
  RestoreCounters& counters_;
  RateLimiter& tps_;
  RateLimiter& bandwidth_;
  std::unique_ptr<RecordSink> sink_;
  DefinitionApplier definitions_;
  // Reused for every item: their buffers keep their capacity.
  asb::DecodedRecord record_;
  asb::SindexDefinition sindex_;
  asb::UdfDefinition udf_;
  RecordWrite write_;
};

// A backup's metadata.yaml says how its files were written; a restore told otherwise would
// fail on the first byte, so say what is wrong before starting.
Status CheckCodecAgainstMetadata(storage::Storage& storage, const std::string& dir,
                                 const storage::CodecOptions& codec) {
  std::string path = dir.empty() ? "metadata.yaml" : dir + "/metadata.yaml";
  auto exists = storage.Exists(path);
  if (!exists.ok() || !*exists) return Status::Ok();
  ABS_ASSIGN_OR_RETURN(std::string text, storage.ReadAll(path));
  ABS_ASSIGN_OR_RETURN(auto meta, backupset::ParseMetadataYaml(text));
  if (meta.compression != codec.CompressionName()) {
    return Status::InvalidArgument(storage.Describe() + "/" + path +
                                   ": the backup's compression is " + meta.compression +
                                   ", the restore was given " + codec.CompressionName());
  }
  if (meta.encryption != codec.EncryptionName()) {
    return Status::InvalidArgument(storage.Describe() + "/" + path +
                                   ": the backup's encryption is " + meta.encryption +
                                   ", the restore was given " + codec.EncryptionName());
  }
  return Status::Ok();
}

}  // namespace

RestoreMemoryPlan PlanRestoreMemory(size_t workers_wanted, size_t reader_bytes,
                                    uint64_t budget_bytes) {
  constexpr size_t kMinBatchBytes = 256 << 10, kMaxBatchBytes = 16 << 20;
  const size_t fixed = reader_bytes + storage::kVerifiedBlockBytes;
  const uint64_t share = budget_bytes / 2;
  RestoreMemoryPlan plan;
  const size_t fit = std::max<uint64_t>(1, share / (fixed + 2 * kMinBatchBytes));
  plan.workers = std::max<size_t>(1, std::min(workers_wanted, fit));
  const uint64_t each = share / plan.workers;
  plan.max_batch_bytes =
      each > fixed ? std::clamp<uint64_t>((each - fixed) / 2, kMinBatchBytes, kMaxBatchBytes)
                   : kMinBatchBytes;
  plan.per_worker_bytes = fixed + 2 * plan.max_batch_bytes;
  return plan;
}

Result<RestorePlan> PrepareRestore(storage::Storage& storage, const RestoreOptions& o) {
  if (o.directories.empty()) return Status::InvalidArgument("no backup directory to restore");
  if (o.parallel < 1) return Status::InvalidArgument("parallel must be at least 1");
  if (o.batch_size < 1) return Status::InvalidArgument("batch-size must be at least 1");
  if (o.policy.unique && (o.policy.replace || o.policy.no_generation)) {
    return Status::InvalidArgument("unique cannot be combined with replace or no-generation");
  }
  if (o.namespace_source.empty() != o.namespace_destination.empty()) {
    return Status::InvalidArgument("a namespace remap needs both source and destination");
  }
  for (const auto& dir : o.directories)
    ABS_RETURN_IF_ERROR(CheckCodecAgainstMetadata(storage, dir, o.codec));
  return PlanRestore(storage, o.directories, o.salvage);
}

Status RunRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
                  RestoreCounters& counters, RestoreNotes* notes) {
  ABS_ASSIGN_OR_RETURN(RestorePlan plan, PrepareRestore(storage, o));
  if (notes) notes->Add(plan);
  return RunPlannedRestore(client, storage, o, plan, counters);
}

void RestoreNotes::Add(const RestorePlan& plan) {
  std::lock_guard lock(mu);
  warnings.insert(warnings.end(), plan.warnings.begin(), plan.warnings.end());
  skipped.insert(skipped.end(), plan.skipped.begin(), plan.skipped.end());
  planned_records += plan.manifest_records;
}

Status RunPlannedRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
                         const RestorePlan& plan, RestoreCounters& counters) {
  std::vector<PlannedFile> definition_files, record_files;
  for (const auto& f : plan.files) {
    if (o.restored_files && o.restored_files->Contains(f.object.path)) continue;
    (f.definitions ? definition_files : record_files).push_back(f);
  }
  auto done = [&](const PlannedFile& f) {
    ++counters.files;
    if (o.restored_files) o.restored_files->Add(f.object.path);
  };
  RateLimiter tps(o.records_per_second), bandwidth(o.bandwidth_bytes_per_second);
  const RecordTransform transform(o, *o.clock);
  // Indexes and UDFs first, so they exist before the data arrives. They change the
  // cluster beyond the records (a UDF runs code), so their files are checked whole
  // before any of it is applied: they are small.
  for (const auto& f : definition_files) {
    if (f.sha256.empty()) continue;
    ABS_ASSIGN_OR_RETURN(std::string sha, storage::Sha256OfObject(storage, f.object.path));
    if (sha != f.sha256) {
      return Status::Corrupt(storage.Describe() + "/" + f.object.path +
                             ": does not match its SHA-256 in the manifest (the file is "
                             "damaged); nothing was written");
    }
  }
  const size_t wanted = std::min<size_t>(static_cast<size_t>(o.parallel), record_files.size());
  auto memory = ProcessMemoryBudget();
  const RestoreMemoryPlan fit =
      PlanRestoreMemory(wanted, storage.reader_memory_bytes(), memory->room());
  if (fit.workers < wanted) {
    ABS_LOG_WARN(
        "restore: {} workers (parallel) would hold about {} MiB, more than half of what the "
        "memory budget has free ({} of {} MiB); {} run instead",
        wanted, wanted * fit.per_worker_bytes >> 20, memory->room() >> 20, memory->limit() >> 20,
        fit.workers);
  }
  MemoryBudget::Lease held =
      memory->Charge(std::max<size_t>(1, fit.workers) * fit.per_worker_bytes);
  for (const auto& f : definition_files) {
    FileRestorer r(client, storage, o, fit.max_batch_bytes, transform, counters, tps, bandwidth);
    ABS_RETURN_IF_ERROR(r.Restore(f));
    done(f);
  }
  // Largest files first keeps the workers busy to the end.
  std::sort(record_files.begin(), record_files.end(),
            [](const auto& a, const auto& b) { return a.object.size > b.object.size; });
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};  // a file failed: the others stop at their next record
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    FileRestorer r(client, storage, o, fit.max_batch_bytes, transform, counters, tps, bandwidth,
                   &stop);
    for (size_t i = next.fetch_add(1); i < record_files.size(); i = next.fetch_add(1)) {
      {
        std::lock_guard lock(mu);
        if (!first_error.ok()) return;
        if (o.cancel && o.cancel->load()) {
          first_error = Status::Cancelled("restore cancelled");
          return;
        }
      }
      Status st = r.Restore(record_files[i]);
      std::lock_guard lock(mu);
      // A cancel seen by one worker must not hide another's real error, nor the reverse.
      if (!st.ok() && (first_error.ok() || first_error.code() == StatusCode::kCancelled)) {
        first_error = st;
      }
      if (!st.ok()) stop = true;
      if (st.ok()) done(record_files[i]);
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < fit.workers && t < record_files.size(); ++t)
    threads.emplace_back(worker);
  for (auto& t : threads)
    t.join();
  if (first_error.code() == StatusCode::kCorrupt) {
    // Every worker has stopped: what the cluster received is final.
    const uint64_t written = counters.inserted.load();
    return Status::Corrupt(first_error.message() + "; " + std::to_string(written) +
                           " records in all were written to the cluster before the restore "
                           "stopped");
  }
  return first_error;
}

}  // namespace absvc::restore
