// The Storage contract over any cloud object API. A backend (S3, GCS, Azure) says how to
// list, read, write, delete and conditionally create whole keys in its bucket; ObjectStore
// adds what the contract asks on top: the spec's prefix, paths relative to it and
// validated, listings of a directory (never of a longer name), sorted, across pages, a
// directory removed by its listing, a directory that exists while something is under it,
// and readers made of ranged reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/cloud/transfer.h"
#include "storage/storage.h"

namespace absvc::storage::cloud {

struct ListedKey {
  std::string key;
  uint64_t size = 0;
};

struct KeyPage {
  std::vector<ListedKey> keys;
  std::string next_token;  // "" on the last page
};

class ObjectApi {
 public:
  virtual ~ObjectApi() = default;
  // "s3://bucket/key" for messages.
  virtual std::string Name(const std::string& key) const = 0;
  // One page of the keys that start with `key_prefix`; `max_keys` 0 for the server's page.
  virtual Result<KeyPage> ListPage(const std::string& key_prefix, const std::string& token,
                                   int max_keys) = 0;
  virtual RangeFetch Range(const std::string& key) = 0;
  virtual std::unique_ptr<Writer> NewWriter(const std::string& key) = 0;
  // A key that is already gone is not an error.
  virtual Status Delete(const std::string& key) = 0;
  // The default deletes one at a time; S3 sends batches.
  virtual Status DeleteKeys(const std::vector<std::string>& keys);
  // True when this call created the object; false when something was there.
  virtual Result<bool> CreateIfAbsent(const std::string& key, std::string_view data) = 0;
  virtual Result<bool> KeyExists(const std::string& key) = 0;
  // The bucket or container answers with these credentials.
  virtual Status Reach() = 0;
};

class ObjectStore : public Storage {
 public:
  // `prefix`: "a/b" (no leading or trailing '/') or "" for the bucket's top; `part_bytes`:
  // what one writer buffers before it hands a part (chunk, block) on.
  ObjectStore(std::shared_ptr<ObjectApi> api, std::string prefix, std::string description,
              size_t part_bytes);

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override;
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override;
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override;
  Status Remove(const std::string& path) override;
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override;
  Result<bool> Exists(const std::string& path) override;
  std::string Describe() const override { return description_; }
  Status Probe() override { return api_->Reach(); }
  size_t writer_memory_bytes() const override { return part_bytes_; }
  size_t reader_memory_bytes() const override;

 private:
  std::string Key(const std::string& path) const;
  std::shared_ptr<ObjectApi> api_;
  std::string prefix_, description_;
  size_t part_bytes_;
};

// Bytes of one ranged read: a reader holds one such chunk at a time.
inline constexpr size_t kReadChunkBytes = 8 << 20;
inline size_t ObjectStore::reader_memory_bytes() const {
  return kReadChunkBytes;
}

}  // namespace absvc::storage::cloud
