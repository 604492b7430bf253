#include "backupset/catalog.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

namespace absvc::backupset {

int64_t ParseRfc3339Millis(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  int64_t ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits)
      ms *= 10;
  }
  int64_t offset_s = 0;
  if (*rest == '+' || *rest == '-') {
    int sign = *rest == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
    offset_s = sign * (hh * 3600 + mm * 60);
  } else if (*rest != 'Z' && *rest != 'z' && *rest != '\0') {
    return -1;
  }
  return (static_cast<int64_t>(timegm(&tm)) - offset_s) * 1000 + ms;
}

std::optional<std::string> DirectoryOfMetadata(const std::string& path) {
  const std::string suffix = std::string("/") + kMetadataFile;
  if (path.size() <= suffix.size() ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  return path.substr(0, path.size() - suffix.size());
}

int64_t RunTimestamp(const std::string& name) {
  if (name.size() < 13) return -1;
  for (size_t i = 0; i < 13; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
  }
  if (name.size() > 13 && name[13] != '_') return -1;
  return std::stoll(name.substr(0, 13));
}

nlohmann::ordered_json BackupEntry::ToJson(const nlohmann::ordered_json& storage) const {
  nlohmann::ordered_json j;
  j["created"] = metadata.created;
  j["timestamp"] = timestamp_ms;  // the run's, as in the key; from/to filter on it
  j["finished"] = metadata.finished;
  j["finished-timestamp"] = finished_ms;
  j["duration"] = std::max<int64_t>(0, (finished_ms - created_ms) / 1000);
  j["from"] = metadata.from.empty() ? "0001-01-01T00:00:00Z" : metadata.from;
  j["namespace"] = metadata.ns;
  j["record-count"] = metadata.record_count;
  j["byte-count"] = metadata.byte_count;
  j["file-count"] = metadata.file_count;
  j["secondary-index-count"] = metadata.sindex_count;
  j["udf-count"] = metadata.udf_count;
  j["key"] = key;
  j["storage"] = storage;
  j["compression"] = metadata.compression;
  j["encryption"] = metadata.encryption;
  return j;
}

Result<std::vector<BackupEntry>> ListBackups(storage::Storage& storage, const std::string& routine,
                                             bool incremental) {
  std::string base = routine + (incremental ? "/incremental/" : "/backup/");
  auto objects = storage.List(base);
  if (!objects.ok()) {
    if (objects.status().code() == StatusCode::kNotFound) return std::vector<BackupEntry>{};
    return objects.status();
  }
  std::vector<BackupEntry> out;
  std::map<std::string, std::string> slices;  // run directory -> slice
  for (const auto& obj : *objects) {
    // <base><ts>/data/<ns>/metadata.yaml
    auto dir = DirectoryOfMetadata(obj.path);
    if (!dir || dir->size() <= base.size()) continue;
    std::string rest = dir->substr(base.size());  // <ts>/data/<ns>
    auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    std::string run = rest.substr(0, slash);
    int64_t ts = RunTimestamp(run);
    if (ts < 0) continue;
    std::string after = rest.substr(slash + 1);
    if (after.rfind("data/", 0) != 0) continue;
    std::string ns_dir = after.substr(5);
    if (ns_dir.empty() || ns_dir.find('/') != std::string::npos) continue;
    auto text = storage.ReadAll(obj.path);
    if (!text.ok()) continue;
    auto meta = ParseMetadataYaml(*text);
    if (!meta.ok()) continue;
    BackupEntry e;
    e.routine = routine;
    e.incremental = incremental;
    e.timestamp_ms = ts;
    e.run_dir = base + run;
    e.key = e.run_dir + "/data/" + ns_dir;
    auto known = slices.find(e.run_dir);
    if (known == slices.end()) {
      std::string slice;
      auto claim = storage.ReadAll(e.run_dir + "/abs-run.json");
      if (claim.ok()) {
        nlohmann::json j = nlohmann::json::parse(*claim, nullptr, false);
        if (j.is_object() && j.contains("slice") && j["slice"].is_string()) {
          slice = j["slice"].get<std::string>();
        }
      }
      known = slices.emplace(e.run_dir, slice).first;
    }
    e.slice = known->second;
    e.metadata = *meta;
    e.created_ms = ParseRfc3339Millis(meta->created);
    e.finished_ms = ParseRfc3339Millis(meta->finished);
    if (e.created_ms < 0) e.created_ms = ts;
    if (e.finished_ms < 0) e.finished_ms = e.created_ms;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
    return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.key < b.key;
  });
  return out;
}

std::string SliceKey(const std::string& partition_list, const std::vector<std::string>& node_list,
                     const std::vector<uint32_t>& rack_list) {
  auto join = [](const auto& list) {
    std::string out;
    for (const auto& x : list) {
      if (!out.empty()) out += ",";
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
        out += x;
      } else {
        out += std::to_string(x);
      }
    }
    return out;
  };
  if (!partition_list.empty()) return "partition-list:" + partition_list;
  if (!node_list.empty()) return "node-list:" + join(node_list);
  if (!rack_list.empty()) return "rack-list:" + join(rack_list);
  return "";
}

Status ApplyRetention(storage::Storage& storage, const std::string& routine, int64_t keep_full,
                      int64_t keep_incremental, const std::string& slice) {
  // keep_full 0: every full stays; keep_incremental -1: the kept fulls' incrementals stay.
  if (keep_full <= 0 && keep_incremental < 0) return Status::Ok();
  if (keep_incremental < 0) keep_incremental = keep_full;
  ABS_ASSIGN_OR_RETURN(auto fulls, ListBackups(storage, routine, false));
  std::vector<std::pair<int64_t, std::string>> runs;  // newest first, distinct
  for (auto it = fulls.rbegin(); it != fulls.rend(); ++it) {
    if (it->slice != slice) continue;
    if (runs.empty() || runs.back().second != it->run_dir)
      runs.emplace_back(it->timestamp_ms, it->run_dir);
  }
  Status first;
  for (size_t i = keep_full > 0 ? static_cast<size_t>(keep_full) : runs.size(); i < runs.size();
       ++i) {
    Status st = storage.Remove(runs[i].second + "/");
    if (!st.ok() && first.ok()) first = st;
  }
  if (runs.empty()) return first;
  // Incrementals older than the oldest full whose incrementals are kept go.
  int64_t horizon = runs.front().first;
  if (keep_incremental > 0) {
    size_t idx = std::min(runs.size(), static_cast<size_t>(keep_incremental)) - 1;
    horizon = runs[idx].first;
  }
  ABS_ASSIGN_OR_RETURN(auto incrs, ListBackups(storage, routine, true));
  std::set<std::string> removed;
  for (const auto& e : incrs) {
    if (e.slice != slice) continue;
    if (e.timestamp_ms < horizon && removed.insert(e.run_dir).second) {
      Status st = storage.Remove(e.run_dir + "/");
      if (!st.ok() && first.ok()) first = st;
    }
  }
  return first;
}

}  // namespace absvc::backupset
