#include "storage/wrappers/forwarding.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {

const char* StorageStats::OpName(int op) {
  static const char* const kNames[kOps] = {"list",  "open-reader", "read",   "open-writer", "write",
                                           "close", "remove",      "create", "exists"};
  return op >= 0 && op < kOps ? kNames[op] : "?";
}

namespace {

// Counts one call: its time, and whether it failed.
template <typename T>
T Timed(StorageStats& stats, StorageStats::Op op, const std::function<T()>& call) {
  auto start = std::chrono::steady_clock::now();
  T out = call();
  stats.requests[op]++;
  stats.micros[op] += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
  if (!out.ok()) stats.errors[op]++;
  return out;
}

class MeteredWriter : public Writer {
 public:
  MeteredWriter(std::unique_ptr<Writer> inner, std::shared_ptr<StorageStats> stats)
      : inner_(std::move(inner)), stats_(std::move(stats)) {}
  Status Write(std::string_view data) override {
    Status st = Timed<Status>(*stats_, StorageStats::kWrite, [&] { return inner_->Write(data); });
    if (st.ok()) stats_->bytes_written += data.size();
    return st;
  }
  Status Close() override {
    return Timed<Status>(*stats_, StorageStats::kClose, [&] { return inner_->Close(); });
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  std::unique_ptr<Writer> inner_;
  std::shared_ptr<StorageStats> stats_;
};

class MeteredReader : public Reader {
 public:
  MeteredReader(std::unique_ptr<Reader> inner, std::shared_ptr<StorageStats> stats)
      : inner_(std::move(inner)), stats_(std::move(stats)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    auto r =
        Timed<Result<size_t>>(*stats_, StorageStats::kRead, [&] { return inner_->Read(buf, n); });
    if (r.ok()) stats_->bytes_read += *r;
    return r;
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::shared_ptr<StorageStats> stats_;
};

class MeteredStorage : public ForwardingStorage {
 public:
  MeteredStorage(std::shared_ptr<Storage> inner, std::shared_ptr<StorageStats> stats)
      : ForwardingStorage(std::move(inner)), stats_(std::move(stats)) {}

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return Timed<Result<std::vector<ObjectInfo>>>(*stats_, StorageStats::kList,
                                                  [&] { return inner_->List(prefix); });
  }
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_ASSIGN_OR_RETURN(
        auto r, Timed<Result<std::unique_ptr<Reader>>>(*stats_, StorageStats::kOpenReader, [&] {
          return inner_->OpenReaderAt(path, offset);
        }));
    return std::unique_ptr<Reader>(new MeteredReader(std::move(r), stats_));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_ASSIGN_OR_RETURN(
        auto w, Timed<Result<std::unique_ptr<Writer>>>(*stats_, StorageStats::kOpenWriter,
                                                       [&] { return inner_->OpenWriter(path); }));
    return std::unique_ptr<Writer>(new MeteredWriter(std::move(w), stats_));
  }
  Status Remove(const std::string& path) override {
    return Timed<Status>(*stats_, StorageStats::kRemove, [&] { return inner_->Remove(path); });
  }
  Status PutAtomic(const std::string& path, std::string_view data) override {
    Status st =
        Timed<Status>(*stats_, StorageStats::kWrite, [&] { return inner_->PutAtomic(path, data); });
    if (st.ok()) stats_->bytes_written += data.size();
    return st;
  }
  Result<std::string> ReadAll(const std::string& path) override {
    auto r = Timed<Result<std::string>>(*stats_, StorageStats::kRead,
                                        [&] { return inner_->ReadAll(path); });
    if (r.ok()) stats_->bytes_read += r->size();
    return r;
  }
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    return Timed<Result<bool>>(*stats_, StorageStats::kCreate,
                               [&] { return inner_->CreateExclusive(path, data); });
  }
  Result<bool> Exists(const std::string& path) override {
    return Timed<Result<bool>>(*stats_, StorageStats::kExists,
                               [&] { return inner_->Exists(path); });
  }

 private:
  std::shared_ptr<StorageStats> stats_;
};

}  // namespace

std::unique_ptr<Storage> WithMetrics(std::shared_ptr<Storage> inner,
                                     std::shared_ptr<StorageStats> stats) {
  return std::make_unique<MeteredStorage>(std::move(inner), std::move(stats));
}

}  // namespace absvc::storage
