#include "common/rate_limiter.h"
#include "storage/wrappers/forwarding.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

class ThrottledWriter : public Writer {
 public:
  ThrottledWriter(std::unique_ptr<Writer> inner, std::shared_ptr<RateLimiter> limiter)
      : inner_(std::move(inner)), limiter_(std::move(limiter)) {}
  Status Write(std::string_view data) override {
    limiter_->Acquire(data.size());
    return inner_->Write(data);
  }
  Status Close() override { return inner_->Close(); }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  std::unique_ptr<Writer> inner_;
  std::shared_ptr<RateLimiter> limiter_;
};

class ThrottledReader : public Reader {
 public:
  ThrottledReader(std::unique_ptr<Reader> inner, std::shared_ptr<RateLimiter> limiter)
      : inner_(std::move(inner)), limiter_(std::move(limiter)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    auto r = inner_->Read(buf, n);
    if (r.ok()) limiter_->Acquire(*r);
    return r;
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::shared_ptr<RateLimiter> limiter_;
};

class ThrottledStorage : public ForwardingStorage {
 public:
  ThrottledStorage(std::shared_ptr<Storage> inner, uint64_t bytes_per_second)
      : ForwardingStorage(std::move(inner)),
        limiter_(std::make_shared<RateLimiter>(bytes_per_second)) {}
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_ASSIGN_OR_RETURN(auto r, inner_->OpenReaderAt(path, offset));
    return std::unique_ptr<Reader>(new ThrottledReader(std::move(r), limiter_));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_ASSIGN_OR_RETURN(auto w, inner_->OpenWriter(path));
    return std::unique_ptr<Writer>(new ThrottledWriter(std::move(w), limiter_));
  }
  // Small objects (PutAtomic, ReadAll) go through the default paths above.
  Status PutAtomic(const std::string& path, std::string_view data) override {
    return Storage::PutAtomic(path, data);
  }
  Result<std::string> ReadAll(const std::string& path) override { return Storage::ReadAll(path); }

 private:
  std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace

std::unique_ptr<Storage> WithBandwidth(std::shared_ptr<Storage> inner, uint64_t bytes_per_second) {
  return std::make_unique<ThrottledStorage>(std::move(inner), bytes_per_second);
}

}  // namespace absvc::storage
