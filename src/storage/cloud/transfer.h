// The two halves of moving big objects that every cloud backend shares: a Reader made of
// ranged GETs fetched one chunk at a time (a broken one is resumed by the retry wrapper
// from the offset reached), and a pipeline that sends an object's parts concurrently,
// a bounded number at a time, and collects what each part's answer names it by.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/executor.h"
#include "common/memory_budget.h"
#include "common/status.h"
#include "storage/cloud/http_client.h"
#include "storage/spec.h"
#include "storage/storage.h"

namespace absvc::storage::cloud {

struct RangeAnswer {
  std::string bytes;
  std::optional<uint64_t> object_size;  // when the answer says it
  bool past_end = false;                // the range starts at or after the end
};
using RangeFetch = std::function<Result<RangeAnswer>(uint64_t offset, size_t length)>;

class RangedReader : public Reader {
 public:
  RangedReader(RangeFetch fetch, std::string name, uint64_t offset, size_t chunk);
  // Fetches the first chunk, so a missing object fails at open.
  Status Start();
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  Status Fetch();
  RangeFetch fetch_;
  std::string name_;
  uint64_t offset_;
  size_t chunk_size_;
  std::string chunk_;
  size_t pos_ = 0;
  std::optional<uint64_t> size_;
};

// "bytes 0-99/1234" -> 1234; nothing for "*" or a malformed value.
std::optional<uint64_t> SizeFromContentRange(const std::string& content_range);

// A ranged GET's answer as a RangeAnswer: 206 with its Content-Range, a 200 holding the
// whole object (the range ignored), or 416 past the end; any other status is `failure`.
Result<RangeAnswer> ReadRangeAnswer(HttpResponse response, uint64_t offset, size_t length,
                                    const std::function<Status(const HttpResponse&)>& failure);

// Buffers writes into parts of one size and hands each full part to SendPart; Close gives
// the rest (perhaps empty) to Finish. The first failure is kept: later calls return it, and
// Abandon runs once, so the backend can drop what it started (an upload, a session).
class PartWriter : public Writer {
 public:
  PartWriter(std::string name, size_t part_size) : name_(std::move(name)), part_size_(part_size) {}
  Status Write(std::string_view data) final;
  Status Close() final;
  uint64_t bytes_written() const final { return written_; }

 protected:
  virtual Status SendPart(std::string part) = 0;
  virtual Status Finish(std::string rest) = 0;
  virtual void Abandon() = 0;
  // Closed, successfully or not: a destructor abandons only what is still open.
  bool done() const { return closed_; }
  size_t part_size() const { return part_size_; }
  // Later parts this size: how a backend whose service caps the number of parts (S3's
  // 10,000) keeps a very large object within it.
  void set_part_size(size_t bytes) { part_size_ = bytes; }

 private:
  Status Fail(Status st);
  std::string name_;
  size_t part_size_;
  std::string buffer_;
  uint64_t written_ = 0;
  bool closed_ = false;
  Status error_;
};

// How the parts of one storage's uploads run: on that storage's own executor (a wedged
// storage ties up only its own threads), each part waited for at most `part_deadline`
// from its submission, and every wait ended at once by `cancel`.
struct PartControl {
  std::shared_ptr<Executor> executor;
  std::shared_ptr<CancelLink> cancel;  // null: never cancelled
  std::chrono::milliseconds part_deadline{3600 * 1000};
  // Each part's bytes are reserved here before it is sent and given back once it has been
  // answered; null: not counted.
  std::shared_ptr<MemoryBudget> memory;
  bool cancelled() const { return cancel && cancel->cancelled(); }
  // The storage is closing: queued parts are dropped, running ones see a cancel, and
  // nothing touches the outside cancel flag any more.
  void Close() const {
    if (cancel) cancel->Detach();
    if (executor) executor->Shutdown();
  }
};

// The longest one part may take with `retry`: every attempt to its request time-out (an
// hour when the spec sets none), every back-off between them, and a minute in the queue.
std::chrono::milliseconds PartDeadline(const RetrySpec& retry);

// A storage's PartControl: its own executor, with threads enough for several writers'
// parts in flight at once (4 x max-async-connections, 8..128) and bounded so that a
// storage that stops answering ties up a known number; parts bounded by
// PartDeadline(spec.retry), counted against the process's memory budget.
PartControl NewPartControl(const StorageSpec& spec, const std::atomic<bool>* cancel);

// Sends an object's parts concurrently, at most max_in_flight at a time, and collects
// what each part's answer names it by. Every wait ends: with the part's answer, with
// kCancelled once `cancel` is set, or with kTimeout past the part's deadline. A pipeline
// given up (a failure, a cancel, its destruction) waits for nothing: parts still running
// finish on their own, holding only their own buffer and answer slot.
class PartPipeline {
 public:
  PartPipeline(PartControl control, std::string object_name, size_t max_in_flight);
  // Starts `send` for part `number` (holding `bytes`) once fewer than max_in_flight are
  // running and the memory budget has room; the first failure of an earlier part is
  // returned instead. While the budget has no room, this pipeline's own oldest part is
  // waited for first, then the budget (until cancel or the part deadline).
  Status Submit(int number, size_t bytes, std::function<Result<std::string>()> send);
  // Waits for every part; their answers by part number, or the first failure.
  Result<std::map<int, std::string>> Finish();

  struct Part;

 private:
  Status WaitOldest();
  PartControl control_;
  std::string object_name_;
  const size_t max_in_flight_;
  std::deque<std::shared_ptr<Part>> in_flight_;
  std::map<int, std::string> done_;
  Status failed_;
};

}  // namespace absvc::storage::cloud
