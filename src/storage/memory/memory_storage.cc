#include "storage/memory/memory_storage.h"

#include <cstring>
#include <map>
#include <mutex>

namespace absvc::storage {
namespace {

struct Objects {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const std::string>> data;
};

std::shared_ptr<Objects> Named(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<Objects>> stores;
  std::lock_guard lock(mu);
  auto& s = stores[name];
  if (!s) s = std::make_shared<Objects>();
  return s;
}

class MemoryReader : public Reader {
 public:
  MemoryReader(std::shared_ptr<const std::string> data, size_t pos)
      : data_(std::move(data)), pos_(std::min(pos, data_->size())) {}
  Result<size_t> Read(char* buf, size_t n) override {
    n = std::min(n, data_->size() - pos_);
    std::memcpy(buf, data_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> data_;
  size_t pos_;
};

// Published whole on Close, like every backend: nothing half-written is ever listed.
class MemoryWriter : public Writer {
 public:
  MemoryWriter(std::shared_ptr<Objects> objects, std::string path)
      : objects_(std::move(objects)), path_(std::move(path)) {}
  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal("write to " + path_ + " after close");
    buffer_.append(data);
    return Status::Ok();
  }
  Status Close() override {
    if (closed_) return Status::Ok();
    closed_ = true;
    std::lock_guard lock(objects_->mu);
    objects_->data[path_] = std::make_shared<const std::string>(std::move(buffer_));
    return Status::Ok();
  }
  uint64_t bytes_written() const override { return buffer_.size(); }

 private:
  std::shared_ptr<Objects> objects_;
  std::string path_, buffer_;
  bool closed_ = false;
};

class MemoryStorage : public Storage {
 public:
  MemoryStorage(std::string name, std::shared_ptr<Objects> objects)
      : name_(std::move(name)), objects_(std::move(objects)) {}

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
    std::vector<ObjectInfo> out;
    std::lock_guard lock(objects_->mu);
    for (auto it = objects_->data.lower_bound(prefix);
         it != objects_->data.end() && it->first.starts_with(prefix); ++it) {
      if (IsUnder(it->first, prefix)) out.push_back({it->first, it->second->size()});
    }
    return out;
  }
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    std::lock_guard lock(objects_->mu);
    auto it = objects_->data.find(path);
    if (it == objects_->data.end())
      return Status::NotFound(Describe() + "/" + path + " does not exist");
    return std::unique_ptr<Reader>(new MemoryReader(it->second, offset));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    return std::unique_ptr<Writer>(new MemoryWriter(objects_, path));
  }
  Status Remove(const std::string& path) override {
    std::lock_guard lock(objects_->mu);
    if (!path.empty() && path.back() == '/') {
      auto it = objects_->data.lower_bound(path);
      while (it != objects_->data.end() && it->first.starts_with(path))
        it = objects_->data.erase(it);
      return Status::Ok();
    }
    objects_->data.erase(path);
    return Status::Ok();
  }
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    std::lock_guard lock(objects_->mu);
    auto [it, created] = objects_->data.try_emplace(path, nullptr);
    if (created) it->second = std::make_shared<const std::string>(data);
    return created;
  }
  Result<bool> Exists(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    std::lock_guard lock(objects_->mu);
    if (objects_->data.count(path)) return true;
    // A directory exists while something is under it, as on disk.
    auto it = objects_->data.lower_bound(path + "/");
    return it != objects_->data.end() && it->first.starts_with(path + "/");
  }
  std::string Describe() const override { return "memory:" + name_; }
  Status Probe() override { return Status::Ok(); }

 private:
  std::string name_;
  std::shared_ptr<Objects> objects_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenMemoryStorage(const std::string& name) {
  return std::unique_ptr<Storage>(new MemoryStorage(name, Named(name)));
}

}  // namespace absvc::storage
