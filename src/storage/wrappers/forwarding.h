// The base of every wrapper: forwards each call to the storage below, so a wrapper
// overrides only what it changes.
#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace absvc::storage {

class ForwardingStorage : public Storage {
 public:
  explicit ForwardingStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return inner_->List(prefix);
  }
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return inner_->OpenReader(path);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    return inner_->OpenReaderAt(path, offset);
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    return inner_->OpenWriter(path);
  }
  Status Remove(const std::string& path) override { return inner_->Remove(path); }
  Status PutAtomic(const std::string& path, std::string_view data) override {
    return inner_->PutAtomic(path, data);
  }
  Result<std::string> ReadAll(const std::string& path) override { return inner_->ReadAll(path); }
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    return inner_->CreateExclusive(path, data);
  }
  Result<bool> Exists(const std::string& path) override { return inner_->Exists(path); }
  std::string Describe() const override { return inner_->Describe(); }
  Status Probe() override { return inner_->Probe(); }
  Status RemoveUnfinishedWrites(const std::string& prefix) override {
    return inner_->RemoveUnfinishedWrites(prefix);
  }
  size_t writer_memory_bytes() const override { return inner_->writer_memory_bytes(); }
  size_t reader_memory_bytes() const override { return inner_->reader_memory_bytes(); }

 protected:
  std::shared_ptr<Storage> inner_;
};

}  // namespace absvc::storage
