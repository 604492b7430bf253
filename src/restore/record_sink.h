// The restore's sink stage: where transformed records are written. Each record is
// encoded once into a write row (the ops in wire form, straight from the decoded bin
// values) and sent in a batch or on its own. Rows are reused from batch to batch, so a
// warmed-up sink does not allocate per record.
//
// Every record added ends in exactly one counter: inserted, fresher (the cluster's
// generation was newer), existed (unique: already there) or failed.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "client/client.h"
#include "restore/counters.h"
#include "restore/record_transform.h"

namespace absvc::restore {

class RecordSink {
 public:
  // A batch is written once it holds `batch_size` records or `max_batch_bytes` of encoded
  // bins, whichever comes first: what a worker buffers is bounded by bytes, not by a
  // record count alone (records run from bytes to megabytes).
  RecordSink(size_t batch_size, size_t max_batch_bytes, RestoreCounters& counters);
  virtual ~RecordSink() = default;

  // Takes the record; writes the batch once it is full.
  Status Add(const RecordWrite& record);
  // Writes what waits. The first refusal by the cluster is returned (after the whole
  // batch is counted); a batch that could not be delivered is an error too.
  Status Flush();
  // The restore stopped: what waits is counted failed and dropped.
  void Abandon();
  // Records this sink wrote (inserted) so far.
  uint64_t inserted() const { return inserted_; }

 protected:
  // Sends rows; each row's result is set for every row that got an answer.
  virtual Status Send(std::span<client::BatchWriteRecord> rows) = 0;

 private:
  std::vector<client::BatchWriteRecord> rows_;  // grown on demand, reused
  const size_t batch_size_, max_batch_bytes_;
  size_t waiting_ = 0;
  size_t waiting_bytes_ = 0;
  RestoreCounters& counters_;
  uint64_t inserted_ = 0;
};

struct BatchSinkOptions {
  size_t batch_size = 128;
  size_t max_async_batches = 16;
  size_t max_batch_bytes = 4 << 20;
};

// Batch writes: a batch of rows split by node, requests in flight in parallel.
std::unique_ptr<RecordSink> MakeBatchSink(client::Client& client, const BatchSinkOptions& options,
                                          RestoreCounters& counters);
// One write command per record, for servers or policies without batch writes.
std::unique_ptr<RecordSink> MakeSingleWriteSink(client::Client& client, size_t batch_size,
                                                size_t max_batch_bytes, RestoreCounters& counters);

}  // namespace absvc::restore
