// The backups of a routine as they exist in storage. A backup is a namespace directory
// <routine>/<backup|incremental>/<epoch-ms>[_<suffix>]/data/<ns>/ holding metadata.yaml;
// one without it is unfinished and is never listed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "backupset/metadata.h"
#include "storage/storage.h"

namespace absvc::backupset {

struct BackupEntry {
  std::string routine;
  bool incremental = false;
  int64_t timestamp_ms = 0;  // from the directory name
  std::string run_dir;       // <routine>/<backup|incremental>/<ts...>
  std::string key;           // run_dir/data/<ns>: usable as backup-data-path
  int64_t created_ms = 0;
  int64_t finished_ms = 0;
  std::string slice;  // from abs-run.json; "" = the whole namespace (or written by ABS)
  BackupMetadata metadata;

  // ABS's BackupDetails; `storage` is the storage's definition ({"s3-storage": {...}}).
  nlohmann::ordered_json ToJson(const nlohmann::ordered_json& storage) const;
};

// Finished backups of the routine, oldest first.
Result<std::vector<BackupEntry>> ListBackups(storage::Storage& storage, const std::string& routine,
                                             bool incremental);

// Among the runs of `slice` only (parallel instances share the routine's directory and
// each keeps its own), keeps the newest `keep_full` full runs and the incrementals taken
// after the oldest of the newest `keep_incremental` full runs; removes the rest.
Status ApplyRetention(storage::Storage& storage, const std::string& routine, int64_t keep_full,
                      int64_t keep_incremental, const std::string& slice = "");

// The canonical text of a slice, as recorded in abs-run.json: "" for the whole namespace,
// else "partition-list:...", "node-list:..." or "rack-list:..." (the first one given).
std::string SliceKey(const std::string& partition_list, const std::vector<std::string>& node_list,
                     const std::vector<uint32_t>& rack_list);

// The backup directory of a ".../metadata.yaml" object path; nullopt for other paths.
std::optional<std::string> DirectoryOfMetadata(const std::string& path);

// "2026-11-25T02:21:57.123Z" (or with an offset) to unix milliseconds; -1 when malformed.
int64_t ParseRfc3339Millis(const std::string& text);

// The epoch-ms of a run directory name "<13 digits>[_<suffix>]"; -1 when it is not one.
int64_t RunTimestamp(const std::string& dir_name);

}  // namespace absvc::backupset
