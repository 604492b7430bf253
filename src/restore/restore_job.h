// The restore engine: plans what to read (restore_plan.h: the manifest is the truth), then
// `parallel` workers each take .asb files through the stages
//   reader (file_reader.h: storage, SHA-256, codec, bandwidth) -> decoder (asb) ->
//   transform (record_transform.h: filters, remap, TTL, write policy) ->
//   sink (record_sink.h: batch or single writes).
// Metadata files (indexes, UDFs) are applied first (definitions.h). Counters always add
// up (counters.h).
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/clock.h"
#include "restore/counters.h"
#include "restore/record_transform.h"
#include "restore/restore_plan.h"
#include "storage/codec.h"
#include "storage/storage.h"

namespace absvc::restore {

// The files a restore has written whole, shared by the attempts of one job: a retry skips
// them, their records being in the cluster already.
class RestoredFiles {
 public:
  bool Contains(const std::string& path) const {
    std::lock_guard lock(mu_);
    return paths_.count(path) > 0;
  }
  void Add(const std::string& path) {
    std::lock_guard lock(mu_);
    paths_.insert(path);
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return paths_.size();
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> paths_;
};

// The transform stage's options (policy, extra-ttl, namespace remap, set and bin lists)
// are the base; the rest is the reader's, the sink's and the job's.
struct RestoreOptions : RecordTransformOptions {
  std::vector<std::string> directories;  // in storage; each holds .asb files
  int parallel = 8;
  size_t batch_size = 128;
  size_t max_async_batches = 16;
  bool disable_batch_writes = false;
  uint64_t records_per_second = 0;
  uint64_t bandwidth_bytes_per_second = 0;
  bool no_records = false;
  bool no_indexes = false;
  bool no_udfs = false;
  storage::CodecOptions codec;
  // Restore what is intact from a damaged or unfinished backup instead of refusing it;
  // what is left out is listed in RestoreNotes::skipped.
  bool salvage = false;
  // Set to true to stop between batches; RunRestore then returns kCancelled. Records
  // already written stay written.
  const std::atomic<bool>* cancel = nullptr;
  // Files restored whole are added; files already in it are skipped.
  RestoredFiles* restored_files = nullptr;
  // Where "now" comes from for TTLs.
  Clock* clock = &Clock::Real();
};

// How many workers a restore runs and how large their batches may grow, so that together
// they hold at most half of `budget_bytes` (the budget's room when the restore starts; the
// other half is for jobs and uploads that start later). A worker holds its reader's chunk
// (`reader_bytes`), the block being verified and its batch twice (the rows, then the request).
struct RestoreMemoryPlan {
  size_t workers = 1;
  size_t max_batch_bytes = 0;
  size_t per_worker_bytes = 0;
};
RestoreMemoryPlan PlanRestoreMemory(size_t workers_wanted, size_t reader_bytes,
                                    uint64_t budget_bytes);

// What restores said besides their counters, gathered from their plans.
struct RestoreNotes {
  std::mutex mu;
  std::vector<std::string> warnings;
  std::vector<std::string> skipped;  // salvage: what was left out, and why
  uint64_t planned_records = 0;      // what the manifests promise (0: unknown)
  void Add(const RestorePlan& plan);
};

// Checks the options and the codec against the backups' metadata.yaml, then plans
// (PlanRestore). Nothing is written; a refusal happens here.
Result<RestorePlan> PrepareRestore(storage::Storage& storage, const RestoreOptions& options);

// Restores the planned files; the first error stops it and is returned with the file it
// came from. A checksum mismatch is an error (kCorrupt) that names the file and how many
// records were already written.
Status RunPlannedRestore(client::Client& client, storage::Storage& storage,
                         const RestoreOptions& options, const RestorePlan& plan,
                         RestoreCounters& counters);

// PrepareRestore, then RunPlannedRestore.
Status RunRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& options,
                  RestoreCounters& counters, RestoreNotes* notes = nullptr);

}  // namespace absvc::restore
