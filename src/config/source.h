// Where absd's configuration lives. A file (-c PATH), or, as ABS's -r/--remote reads it,
// an object in a storage: -c then names a small file holding one storage definition
// (local-storage, s3-storage, gcp-storage or azure-storage, as in the storage section)
// whose path is the configuration object itself. Both are read with the same limits and
// validation, and an edit through the API writes the whole document back to where it
// was read from.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace absvc::service {

class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  virtual Result<Config> Load() = 0;
  virtual Status Save(const Json& document) = 0;
  virtual std::string Describe() const = 0;  // for logs and errors
};

// The configuration file at `path` (YAML, or JSON for *.json).
std::unique_ptr<ConfigSource> ConfigFile(std::string path);

// The configuration object the storage definition in `definition_file` names.
Result<std::unique_ptr<ConfigSource>> RemoteConfig(const std::string& definition_file);

// Configuration text (YAML, or JSON when `json`) to the validated configuration; errors
// are prefixed with `name`.
Result<Config> ParseConfigText(const std::string& text, bool json, const std::string& name);

}  // namespace absvc::service
