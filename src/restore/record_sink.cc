#include "restore/record_sink.h"

#include <algorithm>

#include "wire/result_code.h"

namespace absvc::restore {
namespace {

class BatchSink : public RecordSink {
 public:
  BatchSink(client::Client& client, const BatchSinkOptions& o, RestoreCounters& counters)
      : RecordSink(o.batch_size, o.max_batch_bytes, counters), client_(client) {
    policy_.batch_size = o.batch_size;
    policy_.max_outstanding = o.max_async_batches;
  }

 protected:
  Status Send(std::span<client::BatchWriteRecord> rows) override {
    return client_.BatchWrite(rows, policy_);
  }

 private:
  client::Client& client_;
  client::BatchPolicy policy_;
};

class SingleWriteSink : public RecordSink {
 public:
  SingleWriteSink(client::Client& client, size_t batch_size, size_t max_batch_bytes,
                  RestoreCounters& counters)
      : RecordSink(batch_size, max_batch_bytes, counters), client_(client) {}

 protected:
  Status Send(std::span<client::BatchWriteRecord> rows) override {
    for (auto& row : rows)
      ABS_RETURN_IF_ERROR(client_.Write(row));
    return Status::Ok();
  }

 private:
  client::Client& client_;
};

}  // namespace

// What a row's buffer keeps between batches: its share of the batch's byte bound, and at
// least this much, so that rows of ordinary records are reused without allocating while
// all the rows together keep about what the batch bound allows.
constexpr size_t kRowBufferKeptAtLeast = 2 << 10;

RecordSink::RecordSink(size_t batch_size, size_t max_batch_bytes, RestoreCounters& counters)
    : batch_size_(std::max<size_t>(batch_size, 1)),
      max_batch_bytes_(std::max<size_t>(max_batch_bytes, 1)),
      counters_(counters) {}

Status RecordSink::Add(const RecordWrite& r) {
  if (waiting_ == rows_.size()) rows_.emplace_back();
  auto& row = rows_[waiting_++];
  row.key.ns.assign(r.ns);
  row.key.set.assign(r.set);
  row.key.digest = *r.digest;
  // The user key is sent only with send_key; a row keeps its old one otherwise, so its
  // buffer is reused.
  row.send_key = !r.user_key.empty();
  if (row.send_key) {
    if (!row.key.user_key) row.key.user_key.emplace();
    row.key.user_key->type = static_cast<uint8_t>(r.user_key[0]);
    row.key.user_key->bytes.assign(r.user_key.substr(1));
  }
  row.exists = r.exists;
  row.generation_policy = r.generation_policy;
  row.generation = r.generation;
  row.ttl = r.ttl;
  row.ops.clear();
  for (const auto& b : r.bins)
    wire::AppendOp(row.ops, wire::OpType::kWrite, b.particle_type, b.name, b.value);
  row.n_ops = static_cast<uint16_t>(r.bins.size());
  row.result = -1;
  waiting_bytes_ += row.ops.size() + row.key.set.size() + r.user_key.size() + 64;
  if (waiting_ == batch_size_ || waiting_bytes_ >= max_batch_bytes_) return Flush();
  return Status::Ok();
}

Status RecordSink::Flush() {
  if (waiting_ == 0) return Status::Ok();
  std::span<client::BatchWriteRecord> rows(rows_.data(), waiting_);
  waiting_ = 0;
  waiting_bytes_ = 0;
  Status sent = Send(rows);
  const size_t kept = std::max(kRowBufferKeptAtLeast, max_batch_bytes_ / batch_size_);
  for (auto& row : rows) {
    if (row.ops.capacity() > kept) std::string().swap(row.ops);
  }
  // Every row lands in exactly one counter; rows without an answer (the batch could not
  // be delivered) are failed.
  Status refused;
  namespace rc = wire::result;
  for (const auto& row : rows) {
    switch (row.result) {
      case rc::kOk:
        ++counters_.inserted;
        ++inserted_;
        break;
      case rc::kGenerationError:
        ++counters_.fresher;
        break;
      case rc::kKeyExists:
        ++counters_.existed;
        break;
      default:
        ++counters_.failed;
        if (row.result >= 0 && refused.ok()) {
          refused = Status::Server(row.result, "writing a record to " + row.key.ns +
                                                   (row.key.set.empty() ? "" : "/" + row.key.set) +
                                                   " failed: " + wire::result::Name(row.result));
        }
    }
  }
  if (!sent.ok()) return sent;
  return refused;
}

void RecordSink::Abandon() {
  counters_.failed += waiting_;
  waiting_ = 0;
  waiting_bytes_ = 0;
}

std::unique_ptr<RecordSink> MakeBatchSink(client::Client& client, const BatchSinkOptions& options,
                                          RestoreCounters& counters) {
  return std::make_unique<BatchSink>(client, options, counters);
}

std::unique_ptr<RecordSink> MakeSingleWriteSink(client::Client& client, size_t batch_size,
                                                size_t max_batch_bytes, RestoreCounters& counters) {
  return std::make_unique<SingleWriteSink>(client, batch_size, max_batch_bytes, counters);
}

}  // namespace absvc::restore
