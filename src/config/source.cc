#include "config/source.h"

#include "common/file.h"
#include "storage/registry.h"

namespace absvc::service {
namespace {

bool IsJsonName(const std::string& name) {
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

class FileSource : public ConfigSource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {}
  Result<Config> Load() override { return LoadConfigFile(path_); }
  Status Save(const Json& document) override { return SaveConfigFile(path_, document); }
  std::string Describe() const override { return path_; }

 private:
  std::string path_;
};

// The object `name` in `storage` (rooted at the definition's path without its last part).
class StorageSource : public ConfigSource {
 public:
  StorageSource(std::unique_ptr<storage::Storage> storage, std::string name, std::string where)
      : storage_(std::move(storage)), name_(std::move(name)), where_(std::move(where)) {}

  Result<Config> Load() override {
    auto text = storage_->ReadAll(name_);
    if (!text.ok()) return text.status().WithContext("remote configuration " + where_);
    if (text->size() > kMaxConfigFileBytes) {
      return Status::InvalidArgument("remote configuration " + where_ + " is " +
                                     std::to_string(text->size()) + " bytes; at most " +
                                     std::to_string(kMaxConfigFileBytes) + " are allowed");
    }
    return ParseConfigText(*text, IsJsonName(name_), where_);
  }
  Status Save(const Json& document) override {
    std::string text = IsJsonName(name_)
                           ? document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"
                           : JsonToYaml(document);
    Status st = storage_->PutAtomic(name_, text);
    return st.ok() ? st : st.WithContext("remote configuration " + where_);
  }
  std::string Describe() const override { return where_; }

 private:
  std::unique_ptr<storage::Storage> storage_;
  std::string name_, where_;
};

}  // namespace

Result<Config> ParseConfigText(const std::string& text, bool json, const std::string& name) {
  Json doc;
  if (json) {
    if (JsonNestingDepth(text) > kMaxYamlDepth) {
      return Status::InvalidArgument(name + ": nests deeper than " + std::to_string(kMaxYamlDepth) +
                                     " levels");
    }
    doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) return Status::InvalidArgument(name + ": not valid JSON");
  } else {
    ABS_ASSIGN_OR_RETURN(doc, YamlToJson(text, name));
  }
  auto cfg = ParseConfig(doc);
  if (!cfg.ok()) return cfg.status().WithContext(name);
  return cfg;
}

std::unique_ptr<ConfigSource> ConfigFile(std::string path) {
  return std::make_unique<FileSource>(std::move(path));
}

Result<std::unique_ptr<ConfigSource>> RemoteConfig(const std::string& definition_file) {
  // A storage definition is a few lines.
  ABS_ASSIGN_OR_RETURN(std::string text,
                       ReadSmallFile(definition_file, 64 << 10, "remote configuration storage"));
  Json definition;
  if (IsJsonName(definition_file)) {
    if (JsonNestingDepth(text) > kMaxYamlDepth) {
      return Status::InvalidArgument(definition_file + ": nests deeper than " +
                                     std::to_string(kMaxYamlDepth) + " levels");
    }
    definition = Json::parse(text, nullptr, false);
    if (definition.is_discarded()) {
      return Status::InvalidArgument(definition_file + ": not valid JSON");
    }
  } else {
    ABS_ASSIGN_OR_RETURN(definition, YamlToJson(text, definition_file));
  }
  // Validated as a storage entry is, with the same messages.
  Json doc = {{"storage", {{"remote-configuration", definition}}}};
  auto parsed = ParseConfig(doc);
  if (!parsed.ok()) return parsed.status().WithContext(definition_file);
  StorageConfig spec = parsed->storage.at("remote-configuration");
  // The definition's path is the configuration object: its last part is the object's
  // name, the rest where the storage is rooted.
  std::string path = spec.path;
  if (!path.empty() && path.back() == '/') {
    return Status::InvalidArgument(definition_file + ": the storage's path '" + path +
                                   "' ends with '/'; it must name the configuration object");
  }
  // A relative local path is the definition file's neighbour, not absd's working
  // directory's.
  if (spec.kind == StorageKind::kLocal && !path.empty() && path.front() != '/') {
    auto dir = definition_file.rfind('/');
    if (dir != std::string::npos) path = definition_file.substr(0, dir + 1) + path;
  }
  auto slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) {
    return Status::InvalidArgument(definition_file +
                                   ": the storage's path must name the configuration object "
                                   "(such as backup-service/config.yml)");
  }
  spec.path = slash == std::string::npos ? "" : path.substr(0, slash + (slash == 0 ? 1 : 0));
  if (spec.kind == StorageKind::kLocal && spec.path.empty()) spec.path = ".";
  ABS_ASSIGN_OR_RETURN(auto storage, storage::OpenStorage(spec));
  std::string where = storage->Describe() + " " + name;
  return std::unique_ptr<ConfigSource>(
      std::make_unique<StorageSource>(std::move(storage), name, where));
}

}  // namespace absvc::service
