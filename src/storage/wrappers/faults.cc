#include <algorithm>

#include "storage/wrappers/forwarding.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {

void FaultPlan::Add(Fault f) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(f));
}

std::optional<Fault> FaultPlan::Next(StorageStats::Op op) {
  std::lock_guard lock(mu_);
  int call = ++calls_[op];
  for (const auto& f : faults_) {
    if (f.op != op) continue;
    bool fires = f.from_then_on ? call >= f.nth
                 : f.every      ? (f.nth > 0 && call >= f.nth && (call - f.nth) % f.nth == 0)
                                : call == f.nth;
    if (fires) return f;
  }
  return std::nullopt;
}

int FaultPlan::calls(StorageStats::Op op) const {
  std::lock_guard lock(mu_);
  return calls_[op];
}

namespace {

// Applies the plan's fault for one call: an error to return, or nothing (after any
// pause). A short read is applied by the reader.
std::optional<Status> Inject(FaultPlan& plan, Clock& clock, StorageStats::Op op,
                             std::optional<Fault>* fired = nullptr) {
  auto f = plan.Next(op);
  if (fired) *fired = f;
  if (!f) return std::nullopt;
  if (f->kind == Fault::kLatency) clock.SleepFor(f->latency);
  if (f->kind == Fault::kError) return f->error;
  return std::nullopt;
}

class FaultyReader : public Reader {
 public:
  FaultyReader(std::unique_ptr<Reader> inner, std::shared_ptr<FaultPlan> plan, Clock& clock)
      : inner_(std::move(inner)), plan_(std::move(plan)), clock_(clock) {}
  Result<size_t> Read(char* buf, size_t n) override {
    std::optional<Fault> fired;
    if (auto err = Inject(*plan_, clock_, StorageStats::kRead, &fired)) return *err;
    if (fired && fired->kind == Fault::kShortRead) n = std::min(n, fired->short_read_bytes);
    return inner_->Read(buf, n);
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::shared_ptr<FaultPlan> plan_;
  Clock& clock_;
};

class FaultyWriter : public Writer {
 public:
  FaultyWriter(std::unique_ptr<Writer> inner, std::shared_ptr<FaultPlan> plan, Clock& clock)
      : inner_(std::move(inner)), plan_(std::move(plan)), clock_(clock) {}
  Status Write(std::string_view data) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kWrite)) return *err;
    return inner_->Write(data);
  }
  Status Close() override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kClose)) return *err;
    return inner_->Close();
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  std::unique_ptr<Writer> inner_;
  std::shared_ptr<FaultPlan> plan_;
  Clock& clock_;
};

class FaultyStorage : public ForwardingStorage {
 public:
  FaultyStorage(std::shared_ptr<Storage> inner, std::shared_ptr<FaultPlan> plan, Clock& clock)
      : ForwardingStorage(std::move(inner)), plan_(std::move(plan)), clock_(clock) {}

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kList)) return *err;
    return inner_->List(prefix);
  }
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kOpenReader)) return *err;
    ABS_ASSIGN_OR_RETURN(auto r, inner_->OpenReaderAt(path, offset));
    return std::unique_ptr<Reader>(new FaultyReader(std::move(r), plan_, clock_));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kOpenWriter)) return *err;
    ABS_ASSIGN_OR_RETURN(auto w, inner_->OpenWriter(path));
    return std::unique_ptr<Writer>(new FaultyWriter(std::move(w), plan_, clock_));
  }
  Status Remove(const std::string& path) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kRemove)) return *err;
    return inner_->Remove(path);
  }
  Status PutAtomic(const std::string& path, std::string_view data) override {
    return Storage::PutAtomic(path, data);  // through the faulty writer
  }
  Result<std::string> ReadAll(const std::string& path) override { return Storage::ReadAll(path); }
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kCreate)) return *err;
    return inner_->CreateExclusive(path, data);
  }
  Result<bool> Exists(const std::string& path) override {
    if (auto err = Inject(*plan_, clock_, StorageStats::kExists)) return *err;
    return inner_->Exists(path);
  }

 private:
  std::shared_ptr<FaultPlan> plan_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<Storage> WithFaults(std::shared_ptr<Storage> inner, std::shared_ptr<FaultPlan> plan,
                                    Clock& clock) {
  return std::make_unique<FaultyStorage>(std::move(inner), std::move(plan), clock);
}

}  // namespace absvc::storage
