#include <algorithm>

#include "common/cancel.h"
#include "storage/wrappers/forwarding.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {

Status RetryTransient(const RetrySpec& spec, Clock& clock, const std::string& what,
                      const std::function<Status()>& attempt, const CancelLink* cancel) {
  const int attempts = std::max(1, spec.max_attempts);
  double pause = static_cast<double>(std::max<int64_t>(0, spec.initial_backoff_ms));
  for (int i = 1;; ++i) {
    Status st = attempt();
    if (st.ok() || !IsTransient(st)) return st;
    if (i >= attempts) {
      return st.WithContext(what + ": gave up after " + std::to_string(i) +
                            (i == 1 ? " attempt" : " attempts"));
    }
    auto wait = static_cast<int64_t>(std::min(pause, static_cast<double>(spec.max_backoff_ms)));
    if (cancel == nullptr) {
      clock.SleepFor(std::chrono::milliseconds(wait));
    } else if (!WaitCancellable(clock, wait, *cancel)) {
      return Status::Cancelled(what + ": cancelled (" + st.message() + ")");
    }
    pause *= std::max(1.0, spec.multiplier);
  }
}

namespace {

// Resumes a download where it broke: a transient Read failure reopens the object at the
// offset reached so far, with the same retries as any call.
class RetryingReader : public Reader {
 public:
  RetryingReader(std::shared_ptr<Storage> storage, std::string path, std::unique_ptr<Reader> inner,
                 uint64_t offset, RetrySpec spec, Clock& clock)
      : storage_(std::move(storage)),
        path_(std::move(path)),
        inner_(std::move(inner)),
        offset_(offset),
        spec_(spec),
        clock_(clock) {}

  Result<size_t> Read(char* buf, size_t n) override {
    size_t got = 0;
    Status st = RetryTransient(spec_, clock_, "read " + path_, [&]() -> Status {
      if (!inner_) {
        auto reopened = storage_->OpenReaderAt(path_, offset_);
        if (!reopened.ok()) return reopened.status();
        inner_ = std::move(reopened).value();
      }
      auto r = inner_->Read(buf, n);
      if (!r.ok()) {
        inner_.reset();
        return r.status();
      }
      got = *r;
      return Status::Ok();
    });
    if (!st.ok()) return st;
    offset_ += got;
    return got;
  }

 private:
  std::shared_ptr<Storage> storage_;
  std::string path_;
  std::unique_ptr<Reader> inner_;
  uint64_t offset_;
  RetrySpec spec_;
  Clock& clock_;
};

class RetryingStorage : public ForwardingStorage {
 public:
  RetryingStorage(std::shared_ptr<Storage> inner, RetrySpec spec, Clock& clock)
      : ForwardingStorage(std::move(inner)), spec_(spec), clock_(clock) {}

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return RetryTransientResult<std::vector<ObjectInfo>>(spec_, clock_, "list " + prefix,
                                                         [&] { return inner_->List(prefix); });
  }
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_ASSIGN_OR_RETURN(auto reader, RetryTransientResult<std::unique_ptr<Reader>>(
                                          spec_, clock_, "open " + path,
                                          [&] { return inner_->OpenReaderAt(path, offset); }));
    return std::unique_ptr<Reader>(
        new RetryingReader(inner_, path, std::move(reader), offset, spec_, clock_));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    return RetryTransientResult<std::unique_ptr<Writer>>(spec_, clock_, "create " + path,
                                                         [&] { return inner_->OpenWriter(path); });
  }
  Status Remove(const std::string& path) override {
    return RetryTransient(spec_, clock_, "remove " + path, [&] { return inner_->Remove(path); });
  }
  // Whole small objects: each attempt writes all of it again.
  Status PutAtomic(const std::string& path, std::string_view data) override {
    return RetryTransient(spec_, clock_, "write " + path,
                          [&] { return inner_->PutAtomic(path, data); });
  }
  // Through the resuming reader: a failure midway costs the rest, not the whole.
  Result<std::string> ReadAll(const std::string& path) override { return Storage::ReadAll(path); }
  // A retry after a lost answer may find the object its own first attempt created: the
  // object then holds exactly `data`, and whether that attempt won cannot be known, so
  // it is reported as existing (never as two winners).
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    return RetryTransientResult<bool>(spec_, clock_, "create " + path,
                                      [&] { return inner_->CreateExclusive(path, data); });
  }
  Result<bool> Exists(const std::string& path) override {
    return RetryTransientResult<bool>(spec_, clock_, "look up " + path,
                                      [&] { return inner_->Exists(path); });
  }
  Status Probe() override {
    return RetryTransient(spec_, clock_, "reach " + inner_->Describe(),
                          [&] { return inner_->Probe(); });
  }

 private:
  RetrySpec spec_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<Storage> WithRetries(std::shared_ptr<Storage> inner, RetrySpec spec, Clock& clock) {
  return std::make_unique<RetryingStorage>(std::move(inner), spec, clock);
}

}  // namespace absvc::storage
