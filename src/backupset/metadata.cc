#include "backupset/metadata.h"

#include <yaml-cpp/yaml.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/utc_time.h"
#include "storage/cloud/crypto.h"

namespace absvc::backupset {

std::string FormatRfc3339Millis(int64_t unix_ms) {
  return FormatUtcMillis(unix_ms, "%Y-%m-%dT%H:%M:%S") + "Z";
}

std::string FormatMetadataYaml(const BackupResult& r, const std::string& manifest_sha256) {
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
  if (!manifest_sha256.empty()) out += "abs-manifest-sha256: " + manifest_sha256 + "\n";
  return out;
}

Result<std::string> ManifestDigest(const std::string& manifest_text) {
  auto j = nlohmann::json::parse(manifest_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corrupt("manifest is not a JSON object");
  j.erase("metadata-sha256");
  return storage::cloud::Sha256Hex(
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

SealedDescriptions SealDescriptions(const BackupResult& r) {
  SealedDescriptions out;
  std::string manifest = FormatManifestJson(r);
  out.metadata = FormatMetadataYaml(r, ManifestDigest(manifest).value());
  auto sealed = nlohmann::ordered_json::parse(manifest);
  sealed["metadata-sha256"] = storage::cloud::Sha256Hex(out.metadata);
  out.manifest = sealed.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

std::vector<std::string> CheckDescriptions(const std::string& manifest_text,
                                           const Manifest& manifest,
                                           const std::string* metadata_text) {
  std::vector<std::string> problems;
  uint64_t in_files = 0;
  for (const auto& f : manifest.files)
    in_files += f.records;
  if (manifest.file_records_known && in_files != manifest.record_count) {
    problems.push_back("the manifest's files hold " + std::to_string(in_files) +
                       " records, its record-count says " + std::to_string(manifest.record_count));
  }
  if (!metadata_text) return problems;  // an unfinished backup: its callers say so
  if (!manifest.metadata_sha256.empty() &&
      storage::cloud::Sha256Hex(*metadata_text) != manifest.metadata_sha256) {
    problems.push_back(
        "metadata.yaml does not match its SHA-256 in the manifest (it was changed "
        "after the backup wrote it)");
  }
  auto meta = ParseMetadataYaml(*metadata_text);
  if (!meta.ok()) {
    problems.push_back(meta.status().message());
    return problems;
  }
  if (!meta->manifest_sha256.empty()) {
    auto digest = ManifestDigest(manifest_text);
    if (!digest.ok() || *digest != meta->manifest_sha256) {
      problems.push_back(
          "the manifest does not match its SHA-256 in metadata.yaml (it was "
          "changed after the backup wrote it)");
    }
  }
  if (meta->ns != manifest.ns) {
    problems.push_back("metadata.yaml names namespace '" + meta->ns + "', the manifest '" +
                       manifest.ns + "'");
  }
  if (meta->record_count != manifest.record_count) {
    problems.push_back("metadata.yaml says " + std::to_string(meta->record_count) +
                       " records, the manifest " + std::to_string(manifest.record_count));
  }
  if (meta->file_count != 0 && meta->file_count != manifest.files.size()) {
    problems.push_back("metadata.yaml says " + std::to_string(meta->file_count) +
                       " files, the manifest lists " + std::to_string(manifest.files.size()));
  }
  return problems;
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
    nlohmann::ordered_json entry = {
        {"name", f.name}, {"size", f.size}, {"sha256", f.sha256}, {"records", f.records}};
    if (f.block_size > 0) {
      entry["block-size"] = f.block_size;
      entry["block-sha256"] = f.block_sha256;
    }
    files.push_back(std::move(entry));
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
    if (y["from"]) m.from = y["from"].as<std::string>();
    if (y["record-count"]) m.record_count = y["record-count"].as<uint64_t>();
    if (y["byte-count"]) m.byte_count = y["byte-count"].as<uint64_t>();
    if (y["file-count"]) m.file_count = y["file-count"].as<uint64_t>();
    if (y["secondary-index-count"]) m.sindex_count = y["secondary-index-count"].as<uint64_t>();
    if (y["udf-count"]) m.udf_count = y["udf-count"].as<uint64_t>();
    if (y["compression"]) m.compression = y["compression"].as<std::string>();
    if (y["encryption"]) m.encryption = y["encryption"].as<std::string>();
    if (y["abs-manifest-sha256"]) m.manifest_sha256 = y["abs-manifest-sha256"].as<std::string>();
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
      if (!f.contains("records")) m.file_records_known = false;
      if (f.contains("block-size")) {
        bf.block_size = ManifestCount(f, "block-size", true);
        if (bf.block_size < 4096 || bf.block_size > (uint64_t{1} << 30)) {
          throw std::runtime_error("file " + bf.name + ": block-size " +
                                   std::to_string(bf.block_size) + " is not 4 KiB..1 GiB");
        }
        bf.block_sha256 = f.at("block-sha256").get<std::vector<std::string>>();
        const uint64_t blocks = (bf.size + bf.block_size - 1) / bf.block_size;
        if (bf.block_sha256.size() != blocks) {
          throw std::runtime_error("file " + bf.name + ": " +
                                   std::to_string(bf.block_sha256.size()) + " block digests for " +
                                   std::to_string(blocks) + " blocks");
        }
        for (const auto& d : bf.block_sha256) {
          if (d.size() != 64 || d.find_first_not_of("0123456789abcdef") != std::string::npos) {
            throw std::runtime_error("file " + bf.name + ": a block digest is not SHA-256 hex");
          }
        }
      }
      m.files.push_back(std::move(bf));
    }
    if (j.contains("metadata-sha256"))
      m.metadata_sha256 = j.at("metadata-sha256").get<std::string>();
    return m;
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string("manifest: ") + e.what());
  }
}

}  // namespace absvc::backupset
