#include "storage/cloud/object_store.h"

#include <algorithm>

namespace absvc::storage::cloud {

Status ObjectApi::DeleteKeys(const std::vector<std::string>& keys) {
  for (const auto& key : keys)
    ABS_RETURN_IF_ERROR(Delete(key));
  return Status::Ok();
}

ObjectStore::ObjectStore(std::shared_ptr<ObjectApi> api, std::string prefix,
                         std::string description, size_t part_bytes)
    : api_(std::move(api)),
      prefix_(std::move(prefix)),
      description_(std::move(description)),
      part_bytes_(part_bytes) {}

std::string ObjectStore::Key(const std::string& path) const {
  return prefix_.empty() ? path : path.empty() ? prefix_ : prefix_ + "/" + path;
}

Result<std::vector<ObjectInfo>> ObjectStore::List(const std::string& prefix) {
  if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
  std::string key_prefix = Key(prefix);
  if (prefix.empty() && !key_prefix.empty()) key_prefix += "/";
  const size_t strip = prefix_.empty() ? 0 : prefix_.size() + 1;
  std::vector<ObjectInfo> out;
  std::string token;
  do {
    ABS_ASSIGN_OR_RETURN(KeyPage page, api_->ListPage(key_prefix, token, 0));
    for (auto& k : page.keys) {
      if (k.key.size() < strip) continue;
      std::string path = k.key.substr(strip);
      // Keys no path can name (empty segments, "..") are not abs's and are left alone.
      if (IsUnder(path, prefix) && ValidateRelativePath(path).ok()) out.push_back({path, k.size});
    }
    token = page.next_token;
  } while (!token.empty());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

Result<std::unique_ptr<Reader>> ObjectStore::OpenReader(const std::string& path) {
  return OpenReaderAt(path, 0);
}

Result<std::unique_ptr<Reader>> ObjectStore::OpenReaderAt(const std::string& path,
                                                          uint64_t offset) {
  ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
  auto reader = std::make_unique<RangedReader>(api_->Range(Key(path)), api_->Name(Key(path)),
                                               offset, kReadChunkBytes);
  ABS_RETURN_IF_ERROR(reader->Start());
  return std::unique_ptr<Reader>(std::move(reader));
}

Result<std::unique_ptr<Writer>> ObjectStore::OpenWriter(const std::string& path) {
  ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
  return api_->NewWriter(Key(path));
}

Status ObjectStore::Remove(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty storage path");
  if (path.back() != '/') {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    return api_->Delete(Key(path));
  }
  ABS_ASSIGN_OR_RETURN(auto objects, List(path.substr(0, path.size() - 1)));
  std::vector<std::string> keys;
  keys.reserve(objects.size());
  for (const auto& o : objects)
    keys.push_back(Key(o.path));
  return api_->DeleteKeys(keys);
}

Result<bool> ObjectStore::CreateExclusive(const std::string& path, std::string_view data) {
  ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
  return api_->CreateIfAbsent(Key(path), data);
}

Result<bool> ObjectStore::Exists(const std::string& path) {
  ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
  ABS_ASSIGN_OR_RETURN(bool exists, api_->KeyExists(Key(path)));
  if (exists) return true;
  // A "directory" exists while an object is under it.
  ABS_ASSIGN_OR_RETURN(KeyPage page, api_->ListPage(Key(path) + "/", "", 1));
  return !page.keys.empty();
}

}  // namespace absvc::storage::cloud
