// Wrappers that stack on any Storage (the restic pattern): each takes a backend and
// returns one that behaves the same, plus one concern. The registry stacks
//   backend -> metered -> retrying -> bandwidth-limited
// so metrics count every attempt, and the bandwidth limit applies to the bytes that go
// to or come from storage. Faults are stacked by tests, under the retries.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/clock.h"
#include "storage/spec.h"
#include "storage/storage.h"

namespace absvc::storage {

// ---- retrying

// Runs `attempt` until it succeeds, fails for good (!IsTransient), or spec.max_attempts
// are spent, pausing initial_backoff_ms, then `multiplier` times longer each time, at
// most max_backoff_ms. The error returned is the last one, saying how many attempts were
// made. Backends use it for each part of a multipart upload.
// With `cancel`: a back-off ends as soon as it is set, and no attempt starts after it
// (kCancelled).
Status RetryTransient(const RetrySpec& spec, Clock& clock, const std::string& what,
                      const std::function<Status()>& attempt, const CancelLink* cancel = nullptr);

// The same for a call that returns a value: the value of the attempt that succeeded.
template <typename T>
Result<T> RetryTransientResult(const RetrySpec& spec, Clock& clock, const std::string& what,
                               const std::function<Result<T>()>& attempt,
                               const CancelLink* cancel = nullptr) {
  std::optional<T> value;
  Status st = RetryTransient(
      spec, clock, what,
      [&]() -> Status {
        auto r = attempt();
        if (!r.ok()) return r.status();
        value.emplace(std::move(r).value());
        return Status::Ok();
      },
      cancel);
  if (!st.ok()) return st;
  return std::move(*value);
}

// Every whole-object call retried as above; a Reader whose Read fails transiently reopens
// the object where it stopped (OpenReaderAt) and goes on. Writers are not replayed here:
// a backend retries its own parts.
std::unique_ptr<Storage> WithRetries(std::shared_ptr<Storage> inner, RetrySpec spec,
                                     Clock& clock = Clock::Real());

// ---- bandwidth

// Writes and reads throttled to `bytes_per_second` in all, across threads.
std::unique_ptr<Storage> WithBandwidth(std::shared_ptr<Storage> inner, uint64_t bytes_per_second);

// ---- metrics

// What a metered storage counts. One StorageStats may be shared by several storages.
struct StorageStats {
  enum Op {
    kList,
    kOpenReader,
    kRead,
    kOpenWriter,
    kWrite,
    kClose,
    kRemove,
    kCreate,
    kExists,
    kOps
  };
  static const char* OpName(int op);
  std::atomic<uint64_t> requests[kOps] = {};
  std::atomic<uint64_t> errors[kOps] = {};
  std::atomic<uint64_t> micros[kOps] = {};  // time spent, summed
  std::atomic<uint64_t> bytes_read{0}, bytes_written{0};
};

std::unique_ptr<Storage> WithMetrics(std::shared_ptr<Storage> inner,
                                     std::shared_ptr<StorageStats> stats);

// ---- faults (tests)

// A fault fires on the nth call of an operation (1-based; `every` repeats it every nth
// call after that): an error Status, a pause on the clock, or a short read.
struct Fault {
  StorageStats::Op op;
  int nth = 1;
  bool every = false;
  enum Kind { kError, kLatency, kShortRead } kind = kError;
  Status error = Status::Unavailable("injected fault: 503 Slow Down");
  std::chrono::milliseconds latency{0};
  size_t short_read_bytes = 1;
  bool from_then_on = false;  // every call from the nth on (a disk that has filled up)
};

class FaultPlan {
 public:
  void Add(Fault f);
  // The fault, if any, for this call of `op`; counts the call.
  std::optional<Fault> Next(StorageStats::Op op);
  int calls(StorageStats::Op op) const;

 private:
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  int calls_[StorageStats::kOps] = {};
};

std::unique_ptr<Storage> WithFaults(std::shared_ptr<Storage> inner, std::shared_ptr<FaultPlan> plan,
                                    Clock& clock = Clock::Real());

}  // namespace absvc::storage
