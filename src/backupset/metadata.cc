#include "backupset/metadata.h"

#include <yaml-cpp/yaml.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/utc_time.h"

namespace absvc::backupset {

std::string FormatRfc3339Millis(int64_t unix_ms) {
  return FormatUtcMillis(unix_ms, "%Y-%m-%dT%H:%M:%S") + "Z";
}

std::string FormatMetadataYaml(const BackupResult& r) {
  std::string from =
      r.from_unix_ns > 0 ? FormatRfc3339Millis(r.from_unix_ns / 1000000) : "0001-01-01T00:00:00Z";
  std::string out;
  out += "created: " + FormatRfc3339Millis(r.created_unix_ms) + "\n";
  out += "finished: " + FormatRfc3339Millis(r.finished_unix_ms) + "\n";
  out += "from: " + from + "\n";
  out += "namespace: " + r.ns + "\n";
  out += "record-count: " + std::to_string(r.record_count) + "\n";
  out += "byte-count: " + std::to_string(r.byte_count) + "\n";
  out += "file-count: " + std::to_string(r.files.size()) + "\n";
  out += "secondary-index-count: " + std::to_string(r.sindex_count) + "\n";
  out += "udf-count: " + std::to_string(r.udf_count) + "\n";
  out += "compression: " + r.codec.CompressionName() + "\n";
  out += "encryption: " + r.codec.EncryptionName() + "\n";
  return out;
}

std::string FormatManifestJson(const BackupResult& r) {
  nlohmann::ordered_json j;
  j["format"] = "abs-manifest/1";
  j["namespace"] = r.ns;
  j["slice"] = r.slice;
  j["created"] = FormatRfc3339Millis(r.created_unix_ms);
  j["finished"] = FormatRfc3339Millis(r.finished_unix_ms);
  j["partitions"] = r.partitions.ToList();
  j["partition-count"] = r.partitions.Count();
  j["record-count"] = r.record_count;
  j["byte-count"] = r.byte_count;
  j["compression"] = r.codec.CompressionName();
  j["encryption"] = r.codec.EncryptionName();
  auto& nodes = j["nodes-at-start"] = nlohmann::ordered_json::array();
  for (const auto& [id, gen] : r.nodes_at_start) {
    nodes.push_back({{"node", id}, {"partition-generation", gen}});
  }
  auto& files = j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : r.files) {
    files.push_back(
        {{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}, {"records", f.records}});
  }
  auto& per = j["records-per-partition"] = nlohmann::ordered_json::array();
  for (const auto& [pid, n] : r.records_per_partition)
    per.push_back({pid, n});
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<BackupMetadata> ParseMetadataYaml(const std::string& text) {
  try {
    YAML::Node y = YAML::Load(text);
    if (!y.IsMap()) return Status::Corrupt("metadata.yaml is not a mapping");
    BackupMetadata m;
    if (!y["namespace"]) return Status::Corrupt("metadata.yaml has no 'namespace'");
    m.ns = y["namespace"].as<std::string>();
    if (y["created"]) m.created = y["created"].as<std::string>();
    if (y["finished"]) m.finished = y["finished"].as<std::string>();
    if (y["record-count"]) m.record_count = y["record-count"].as<uint64_t>();
    if (y["byte-count"]) m.byte_count = y["byte-count"].as<uint64_t>();
    if (y["file-count"]) m.file_count = y["file-count"].as<uint64_t>();
    if (y["secondary-index-count"]) m.sindex_count = y["secondary-index-count"].as<uint64_t>();
    if (y["udf-count"]) m.udf_count = y["udf-count"].as<uint64_t>();
    if (y["compression"]) m.compression = y["compression"].as<std::string>();
    if (y["encryption"]) m.encryption = y["encryption"].as<std::string>();
    return m;
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string("metadata.yaml: ") + e.what());
  }
}

namespace {
// A count in a manifest: a non-negative JSON integer. nlohmann would convert a float or a
// negative number to uint64_t unchecked (undefined for 1e30), so anything else is corrupt.
uint64_t ManifestCount(const nlohmann::json& object, const char* key, bool required) {
  if (!object.contains(key)) {
    if (required) throw std::runtime_error(std::string("no '") + key + "'");
    return 0;
  }
  const nlohmann::json& v = object.at(key);
  if (!v.is_number_unsigned()) {
    throw std::runtime_error(std::string("'") + key + "' is not a non-negative integer");
  }
  return v.get<uint64_t>();
}
}  // namespace

Result<Manifest> ParseManifestJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corrupt("manifest is not a JSON object");
  try {
    if (j.value("format", "") != "abs-manifest/1") {
      return Status::Corrupt("manifest format '" + j.value("format", "") +
                             "' is not abs-manifest/1");
    }
    Manifest m;
    m.ns = j.at("namespace").get<std::string>();
    m.slice = j.value("slice", "");
    std::string parts = j.at("partitions").get<std::string>();
    if (!parts.empty()) {
      auto set = PartitionSet::ParseList(parts);
      if (!set.ok()) return set.status().WithContext("manifest partitions");
      m.partitions = *set;
    }
    m.record_count = ManifestCount(j, "record-count", true);
    for (const auto& f : j.at("files")) {
      BackupFile bf;
      bf.name = f.at("name").get<std::string>();
      bf.size = ManifestCount(f, "size", true);
      bf.sha256 = f.at("sha256").get<std::string>();
      bf.records = ManifestCount(f, "records", false);
      m.files.push_back(std::move(bf));
    }
    return m;
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string("manifest: ") + e.what());
  }
}

}  // namespace absvc::backupset
