#include "backup/resume.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "backupset/metadata.h"
#include "common/json_fields.h"

namespace absvc::backup {

using backupset::FormatRfc3339Millis;
using backupset::kCheckpointFile;
using backupset::kMetadataFile;
using backupset::kStartFile;
using backupset::ParseCheckpoint;

Result<Resume> FindResume(storage::Storage& storage, const BackupOptions& o,
                          const std::string& fingerprint) {
  auto path = [&](const std::string& name) {
    return o.directory.empty() ? name : o.directory + "/" + name;
  };
  Resume r;
  auto listed = storage.List(o.directory.empty() ? "" : o.directory + "/");
  if (!listed.ok()) return listed.status().WithContext("looking for a backup to resume");
  std::map<std::string, uint64_t> present;
  for (const auto& obj : *listed) {
    std::string name = o.directory.empty() ? obj.path : obj.path.substr(o.directory.size() + 1);
    if (name.find('/') == std::string::npos) present[name] = obj.size;
  }
  if (present.empty()) return r;  // nothing there: a fresh start
  if (present.count(kMetadataFile)) {
    return Status::Conflict("the backup in " + (o.directory.empty() ? "." : o.directory) +
                            " is already complete");
  }
  if (!present.count(kStartFile)) {
    // Not ours: never cleared to make room.
    return Status::InvalidArgument((o.directory.empty() ? std::string(".") : o.directory) +
                                   " holds " + std::to_string(present.size()) +
                                   " files but no abs backup in progress (no " + kStartFile +
                                   "); give an empty or new directory");
  }
  if (!present.count(kCheckpointFile)) {
    r.start_over_because = "it has no checkpoint: no file was complete when it stopped";
    return r;
  }
  auto text = storage.ReadAll(path(kCheckpointFile));
  if (!text.ok()) return text.status().WithContext("reading the checkpoint");
  auto cp = ParseCheckpoint(*text);
  if (!cp.ok()) {
    r.start_over_because = cp.status().message();
    return r;
  }
  auto start = storage.ReadAll(path(kStartFile));
  if (!start.ok()) return start.status().WithContext("reading " + std::string(kStartFile));
  auto start_json = nlohmann::json::parse(*start, nullptr, false);
  std::string created = StringField(start_json, "created");
  if (cp->ns != o.ns) {
    r.start_over_because = "its checkpoint is of namespace " + cp->ns.substr(0, 64);
  } else if (created != FormatRfc3339Millis(cp->created_unix_ms)) {
    r.start_over_because = "its checkpoint is from another backup (started " +
                           FormatRfc3339Millis(cp->created_unix_ms) + ", the directory's " +
                           created.substr(0, 40) + ")";
  } else if (cp->fingerprint != fingerprint) {
    r.start_over_because =
        "it was started with other options (sets, bins, filter, time bounds or codec)";
  }
  if (!r.start_over_because.empty()) return r;
  for (const auto& f : cp->files) {
    auto it = present.find(f.name);
    if (it == present.end() || it->second != f.size) {
      r.start_over_because =
          "file " + f.name + (it == present.end() ? " is missing" : " has changed");
      return r;
    }
  }
  r.checkpoint = std::move(cp).value();
  // What was written after the checkpoint goes: it is written again.
  std::set<std::string> keep = {kStartFile, kCheckpointFile};
  for (const auto& f : r.checkpoint->files)
    keep.insert(f.name);
  for (const auto& [name, size] : present) {
    if (keep.count(name)) continue;
    Status st = storage.Remove(path(name));
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      return st.WithContext("removing what was written after the checkpoint");
    }
  }
  // And the files that were being written when it stopped.
  ABS_RETURN_IF_ERROR(storage.RemoveUnfinishedWrites(o.directory)
                          .WithContext("removing the files cut short when it stopped"));
  return r;
}

}  // namespace absvc::backup
