#include "backupset/checkpoint.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/base64.h"

namespace absvc::backupset {
namespace {

using Json = nlohmann::ordered_json;

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A file the backup itself named: "<worker>_<ns>_<id>.asb" or "metadata_<ns>_<id>.asb";
// never a path, so a damaged checkpoint cannot make a resume keep or touch another file.
bool IsPlainAsbName(const std::string& name) {
  if (name.size() < 5 || name.size() > 255 || !name.ends_with(".asb")) return false;
  for (char c : name)
    if (c == '/' || c == '\\' || c == '\0') return false;
  return name != "." && name != "..";
}

// Typed reads that name the field: the checkpoint is outside input like any file.
template <typename T>
Result<T> Field(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Corrupt(where + ": no " + key);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return Status::Corrupt(where + ": " + key + " is not text");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return Status::Corrupt(where + ": " + key + " is not true or false");
  } else if constexpr (std::is_unsigned_v<T>) {
    if (!it->is_number_unsigned()) {
      return Status::Corrupt(where + ": " + key + " is not a whole number");
    }
  } else {
    if (!it->is_number_integer()) return Status::Corrupt(where + ": " + key + " is not a number");
  }
  return it->get<T>();
}

}  // namespace

std::string FormatCheckpoint(const Checkpoint& c) {
  Json j;
  j["format"] = kCheckpointFormat;
  j["namespace"] = c.ns;
  j["created-ms"] = c.created_unix_ms;
  j["fingerprint"] = c.fingerprint;
  j["partitions"] = c.partitions.ToList();
  j["next-file-id"] = c.next_file_id;
  j["first-file"] = c.first_file;
  j["definitions-done"] = c.definitions_done;
  j["sindex-count"] = c.sindex_count;
  j["udf-count"] = c.udf_count;
  Json nodes = Json::array();
  for (const auto& [id, gen] : c.nodes_at_start)
    nodes.push_back({{"node", id}, {"partition-generation", gen}});
  j["nodes-at-start"] = std::move(nodes);
  Json files = Json::array();
  for (const auto& f : c.files) {
    Json entry = {{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}, {"records", f.records}};
    if (f.block_size > 0) {
      entry["block-size"] = f.block_size;
      entry["block-sha256"] = f.block_sha256;
    }
    files.push_back(std::move(entry));
  }
  j["files"] = std::move(files);
  Json progress = Json::array();
  for (const auto& p : c.progress) {
    Json e = {{"pid", p.pid}, {"done", p.done}, {"records", p.records}};
    if (p.last_digest) e["digest"] = Base64Encode(wire::DigestBytes(*p.last_digest));
    progress.push_back(std::move(e));
  }
  j["progress"] = std::move(progress);
  return j.dump(1, ' ', false, Json::error_handler_t::replace);
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  const std::string where = "checkpoint";
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corrupt("checkpoint is not a JSON object");
  ABS_ASSIGN_OR_RETURN(std::string format, Field<std::string>(j, "format", where));
  if (format != kCheckpointFormat) {
    return Status::Corrupt(
        "checkpoint format '" + format.substr(0, 40) + "' is not " + kCheckpointFormat +
        (format.rfind("abs-checkpoint/", 0) == 0 ? " (written by another version of abs)" : ""));
  }
  Checkpoint c;
  ABS_ASSIGN_OR_RETURN(c.ns, Field<std::string>(j, "namespace", where));
  if (c.ns.empty()) return Status::Corrupt("checkpoint: empty namespace");
  ABS_ASSIGN_OR_RETURN(c.created_unix_ms, Field<int64_t>(j, "created-ms", where));
  ABS_ASSIGN_OR_RETURN(c.fingerprint, Field<std::string>(j, "fingerprint", where));
  ABS_ASSIGN_OR_RETURN(std::string parts, Field<std::string>(j, "partitions", where));
  if (!parts.empty()) {
    auto set = PartitionSet::ParseList(parts);
    if (!set.ok()) return set.status().WithContext("checkpoint partitions");
    c.partitions = *set;
  }
  ABS_ASSIGN_OR_RETURN(uint64_t next_id, Field<uint64_t>(j, "next-file-id", where));
  if (next_id < 1 || next_id > UINT32_MAX) return Status::Corrupt("checkpoint: bad next-file-id");
  c.next_file_id = static_cast<uint32_t>(next_id);
  ABS_ASSIGN_OR_RETURN(c.first_file, Field<std::string>(j, "first-file", where));
  ABS_ASSIGN_OR_RETURN(c.definitions_done, Field<bool>(j, "definitions-done", where));
  ABS_ASSIGN_OR_RETURN(c.sindex_count, Field<uint64_t>(j, "sindex-count", where));
  ABS_ASSIGN_OR_RETURN(c.udf_count, Field<uint64_t>(j, "udf-count", where));

  auto list = [&](const char* key) -> Result<const Json*> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) {
      return Status::Corrupt(std::string("checkpoint: ") + key + " is not a list");
    }
    return &*it;
  };
  ABS_ASSIGN_OR_RETURN(const Json* nodes, list("nodes-at-start"));
  for (const auto& n : *nodes) {
    if (!n.is_object()) return Status::Corrupt("checkpoint: a node entry is not an object");
    ABS_ASSIGN_OR_RETURN(std::string id, Field<std::string>(n, "node", where + " node"));
    ABS_ASSIGN_OR_RETURN(int64_t gen, Field<int64_t>(n, "partition-generation", where + " node"));
    c.nodes_at_start.emplace_back(std::move(id), gen);
  }
  ABS_ASSIGN_OR_RETURN(const Json* files, list("files"));
  std::set<std::string> names;
  for (const auto& f : *files) {
    if (!f.is_object()) return Status::Corrupt("checkpoint: a file entry is not an object");
    BackupFile bf;
    ABS_ASSIGN_OR_RETURN(bf.name, Field<std::string>(f, "name", where + " file"));
    if (!IsPlainAsbName(bf.name)) {
      return Status::Corrupt("checkpoint: file name '" + bf.name.substr(0, 80) +
                             "' is not a backup file name");
    }
    if (!names.insert(bf.name).second) {
      return Status::Corrupt("checkpoint: file " + bf.name + " is listed twice");
    }
    ABS_ASSIGN_OR_RETURN(bf.size, Field<uint64_t>(f, "size", where + " file " + bf.name));
    ABS_ASSIGN_OR_RETURN(bf.sha256, Field<std::string>(f, "sha256", where + " file " + bf.name));
    if (!IsHex64(bf.sha256)) {
      return Status::Corrupt("checkpoint: file " + bf.name + " has no SHA-256");
    }
    ABS_ASSIGN_OR_RETURN(bf.records, Field<uint64_t>(f, "records", where + " file " + bf.name));
    if (f.contains("block-size")) {  // kept so that a resumed backup's manifest has them
      ABS_ASSIGN_OR_RETURN(bf.block_size,
                           Field<uint64_t>(f, "block-size", where + " file " + bf.name));
      const Json& digests = f["block-sha256"];
      const uint64_t blocks =
          bf.block_size == 0 ? 0 : (bf.size + bf.block_size - 1) / bf.block_size;
      if (bf.block_size < 4096 || bf.block_size > (uint64_t{1} << 30) || !digests.is_array() ||
          digests.size() != blocks) {
        return Status::Corrupt("checkpoint: file " + bf.name + " has malformed block digests");
      }
      for (const auto& d : digests) {
        if (!d.is_string() || !IsHex64(d.get<std::string>())) {
          return Status::Corrupt("checkpoint: file " + bf.name + " has malformed block digests");
        }
        bf.block_sha256.push_back(d.get<std::string>());
      }
    }
    c.files.push_back(std::move(bf));
  }
  if (!c.first_file.empty() && !names.count(c.first_file)) {
    return Status::Corrupt("checkpoint: first-file " + c.first_file.substr(0, 80) +
                           " is not one of its files");
  }
  ABS_ASSIGN_OR_RETURN(const Json* progress, list("progress"));
  PartitionSet seen;
  for (const auto& e : *progress) {
    if (!e.is_object()) return Status::Corrupt("checkpoint: a partition entry is not an object");
    PartitionProgress p;
    ABS_ASSIGN_OR_RETURN(uint64_t pid, Field<uint64_t>(e, "pid", where + " partition"));
    if (pid >= kPartitions || !c.partitions.Contains(static_cast<uint32_t>(pid))) {
      return Status::Corrupt("checkpoint: partition " + std::to_string(pid) +
                             " is not in the backup's partitions");
    }
    p.pid = static_cast<uint32_t>(pid);
    if (seen.Contains(p.pid)) {
      return Status::Corrupt("checkpoint: partition " + std::to_string(pid) + " is listed twice");
    }
    seen.Add(p.pid);
    const std::string at = where + " partition " + std::to_string(pid);
    ABS_ASSIGN_OR_RETURN(p.done, Field<bool>(e, "done", at));
    ABS_ASSIGN_OR_RETURN(p.records, Field<uint64_t>(e, "records", at));
    if (e.contains("digest")) {
      ABS_ASSIGN_OR_RETURN(std::string text64, Field<std::string>(e, "digest", at));
      auto raw = Base64Decode(text64);
      if (!raw || raw->size() != wire::kDigestSize) {
        return Status::Corrupt(at + ": digest is not 20 bytes of base64");
      }
      wire::Digest d = wire::DigestFromBytes(*raw);
      if (wire::PartitionIdOf(d) != p.pid) {
        return Status::Corrupt(at + ": its digest belongs to partition " +
                               std::to_string(wire::PartitionIdOf(d)));
      }
      p.last_digest = d;
    } else if (p.records > 0) {
      return Status::Corrupt(at + ": records without the digest to go on from");
    }
    c.progress.push_back(std::move(p));
  }
  return c;
}

}  // namespace absvc::backupset
