#include "config/legacy.h"

#include <algorithm>

#include "common/text.h"

namespace absvc::service {
namespace {

// ABS 2.x wrote restore bandwidth in bytes/s, 3.2 and later in MiB/s. No restore runs at
// 64 GiB/s, and none is limited below 64 KiB/s, so a value at or above this is bytes/s.
constexpr int64_t kBandwidthBytesPerSecondFrom = 65536;

std::string Quote(const Json& v) {
  return v.is_string() ? "'" + ShortValue(v.get<std::string>()) + "'" : ShortValue(v.dump());
}

class Upgrader {
 public:
  explicit Upgrader(LegacyReading& reading) : r_(reading) {}

  void Warn(const std::string& path, const std::string& message) {
    r_.warnings.push_back(path + ": " + message);
  }
  void Error(const std::string& path, const std::string& message) {
    r_.errors.push_back(path + ": " + message);
  }

  // Moves obj[from] to obj[to] with a warning; both given is an error.
  void Rename(Json& obj, const std::string& path, const std::string& from, const std::string& to,
              const std::string& why) {
    if (!obj.is_object() || !obj.contains(from)) return;
    if (obj.contains(to)) {
      Error(path + "." + from, "give " + to + " or its older name " + from + ", not both");
      return;
    }
    obj[to] = obj[from];
    obj.erase(from);
    Warn(path + "." + from, "read as " + to + " (" + why + "); write " + to + " instead");
  }

  void Storage(Json& entry, const std::string& path) {
    if (!entry.is_object()) return;
    // 3.x nests each kind; early releases spelled two S3 settings with '_'.
    if (entry.contains("s3-storage") && entry["s3-storage"].is_object()) {
      Json& s3 = entry["s3-storage"];
      Rename(s3, path + ".s3-storage", "min_part_size", "min-part-size", "ABS 2.x's spelling");
      Rename(s3, path + ".s3-storage", "max_async_connections", "max-async-connections",
             "ABS 2.x's spelling");
    }
    if (!entry.contains("type")) return;
    // ABS 2.x's flat form: type, path and the S3 settings side by side.
    const Json& type = entry["type"];
    std::string kind = type.is_string() ? type.get<std::string>() : "";
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    if (kind != "local" && kind != "aws-s3") {
      Error(path + ".type", "ABS 2.x's storage types are local and aws-s3, got " + Quote(type) +
                                "; write a local-storage, s3-storage, gcp-storage or "
                                "azure-storage block");
      return;
    }
    for (const char* nested : {"local-storage", "s3-storage", "gcp-storage", "azure-storage"}) {
      if (entry.contains(nested)) {
        Error(path + ".type", std::string("give ") + nested + " or ABS 2.x's type, not both");
        return;
      }
    }
    Json flat = entry;
    Json out = Json::object();
    std::string location = flat.contains("path") && flat["path"].is_string()
                               ? flat["path"].get<std::string>()
                               : std::string();
    flat.erase("type");
    flat.erase("path");
    if (kind == "local") {
      out["local-storage"] = {{"path", location}};
      Warn(path + ".type", "ABS 2.x's flat storage read as local-storage {path: " +
                               ShortValue(location) + "}; write that instead");
    } else {
      const std::string scheme = "s3://";
      if (location.rfind(scheme, 0) != 0 || location.size() == scheme.size()) {
        Error(path + ".path", "ABS 2.x's aws-s3 path is s3://<bucket>[/<prefix>], got '" +
                                  ShortValue(location) + "'");
        return;
      }
      std::string rest = location.substr(scheme.size());
      auto slash = rest.find('/');
      Json s3 = {{"bucket", rest.substr(0, slash)}};
      if (slash != std::string::npos && slash + 1 < rest.size()) {
        s3["path"] = rest.substr(slash + 1);
      }
      for (const char* k : {"s3-region", "s3-profile", "s3-endpoint-override", "s3-log-level"}) {
        if (flat.contains(k)) {
          s3[k] = flat[k];
          flat.erase(k);
        }
      }
      // 0 meant "the default" in 2.x.
      for (auto [old_key, key] : {std::pair{"min_part_size", "min-part-size"},
                                  std::pair{"max_async_connections", "max-async-connections"}}) {
        if (!flat.contains(old_key)) continue;
        if (!(flat[old_key].is_number() && flat[old_key] == 0)) s3[key] = flat[old_key];
        flat.erase(old_key);
      }
      out["s3-storage"] = std::move(s3);
      Warn(path + ".type", "ABS 2.x's flat aws-s3 storage read as s3-storage " +
                               ShortValue(out["s3-storage"].dump()) + "; write that instead");
    }
    // What is left is not a 2.x storage setting: the strict reading reports it.
    for (auto it = flat.begin(); it != flat.end(); ++it)
      out[it.key()] = it.value();
    entry = std::move(out);
  }

  void Policy(Json& p, const std::string& path) {
    if (!p.is_object()) return;
    if (p.contains("remove-files")) {
      const Json v = p["remove-files"];
      std::string mode = v.is_string() ? v.get<std::string>() : "";
      if (p.contains("retention")) {
        Error(path + ".remove-files", "give retention or ABS 2.x's remove-files, not both");
        return;
      }
      if (mode == "KeepAll") {
        Warn(path + ".remove-files",
             "KeepAll keeps every backup, as a policy without "
             "retention does; remove it");
      } else if (mode == "RemoveIncremental") {
        p["retention"] = {{"incremental", 0}};
        Warn(path + ".remove-files",
             "RemoveIncremental read as retention {incremental: 0}: a full backup removes the "
             "incrementals before it; write that instead");
      } else if (mode == "RemoveAll") {
        p["retention"] = {{"full", 1}, {"incremental", 0}};
        Warn(path + ".remove-files",
             "RemoveAll read as retention {full: 1, incremental: 0}: each full backup is kept "
             "in its own timestamped folder and the older ones are removed once it succeeds "
             "(ABS 2.x overwrote one folder); write that instead");
      } else {
        Error(path + ".remove-files",
              "ABS 2.x's values are KeepAll, RemoveIncremental and "
              "RemoveAll, got " +
                  Quote(v) + "; write retention instead");
        return;
      }
      p.erase("remove-files");
    }
    if (p.contains("max-retries") || p.contains("retry-delay")) {
      if (p.contains("retry-policy")) {
        Error(path + (p.contains("max-retries") ? ".max-retries" : ".retry-delay"),
              "give retry-policy or ABS 2.x's max-retries and retry-delay, not both");
        return;
      }
      // 2.x retried the whole backup at a fixed delay (defaults 3 and 60000 ms); 3.x
      // retries a failed namespace from its checkpoint, with backoff.
      Json retry = {{"max-retries", p.value("max-retries", Json(3))},
                    {"base-timeout", p.value("retry-delay", Json(60000))},
                    {"multiplier", 1}};
      p.erase("max-retries");
      p.erase("retry-delay");
      Warn(path + ".max-retries",
           "ABS 2.x's max-retries and retry-delay read as retry-policy " +
               ShortValue(retry.dump()) +
               " (a failed namespace is retried from its checkpoint at a fixed delay; 2.x "
               "restarted the whole backup); write retry-policy instead");
      p["retry-policy"] = std::move(retry);
    }
  }

  void Routines(Json& doc) {
    if (!doc.contains("backup-routines") || !doc["backup-routines"].is_object()) return;
    for (auto it = doc["backup-routines"].begin(); it != doc["backup-routines"].end(); ++it) {
      Json& r = it.value();
      if (!r.is_object()) continue;
      const std::string path = "backup-routines." + it.key();
      if (!r.contains("namespaces")) {
        r["namespaces"] = Json::array();
        Warn(path + ".namespaces",
             "missing: read as [] (every namespace), as ABS 2.x read it; "
             "write namespaces: [] or list them");
      }
      if (!r.contains("prefer-racks")) continue;
      // Since ABS 3.4 the cluster's setting, for all its routines.
      Json racks = r["prefer-racks"];
      r.erase("prefer-racks");
      std::string cluster = r.contains("source-cluster") && r["source-cluster"].is_string()
                                ? r["source-cluster"].get<std::string>()
                                : "";
      Json* clusters = doc.contains("aerospike-clusters") ? &doc["aerospike-clusters"] : nullptr;
      if (cluster.empty() || !clusters || !clusters->is_object() || !clusters->contains(cluster) ||
          !(*clusters)[cluster].is_object()) {
        Error(path + ".prefer-racks",
              "belongs to the source cluster since ABS 3.4, and the "
              "routine's source-cluster is not configured");
        continue;
      }
      Json& c = (*clusters)[cluster];
      if (c.contains("prefer-racks") && c["prefer-racks"] != racks) {
        Error(path + ".prefer-racks", "differs from aerospike-clusters." + cluster +
                                          ".prefer-racks; since ABS 3.4 one cluster has one");
        continue;
      }
      c["prefer-racks"] = racks;
      Warn(path + ".prefer-racks",
           "read as aerospike-clusters." + cluster +
               ".prefer-racks (the cluster's setting since ABS 3.4); move it there");
    }
  }

 private:
  LegacyReading& r_;
};

}  // namespace

Json UpgradeLegacyConfig(const Json& document, LegacyReading& reading) {
  if (!document.is_object()) return document;
  Json doc = document;
  Upgrader up(reading);
  up.Rename(doc, "(top level)", "secret-agent", "secret-agents", "ABS 2.x's name");
  if (doc.contains("storage") && doc["storage"].is_object()) {
    for (auto it = doc["storage"].begin(); it != doc["storage"].end(); ++it)
      up.Storage(it.value(), "storage." + it.key());
  }
  if (doc.contains("backup-policies") && doc["backup-policies"].is_object()) {
    for (auto it = doc["backup-policies"].begin(); it != doc["backup-policies"].end(); ++it)
      up.Policy(it.value(), "backup-policies." + it.key());
  }
  up.Routines(doc);
  return doc;
}

Json UpgradeLegacyRestoreRequest(const Json& body, LegacyReading& reading) {
  if (!body.is_object()) return body;
  Json b = body;
  Upgrader up(reading);
  // 2.x: the source storage's path was where the backup is; 3.x names the storage's root
  // and the backup's place in it (backup-data-path).
  if (b.contains("source") && b["source"].is_object() && b["source"].contains("type") &&
      !b.contains("backup-data-path")) {
    // A copy: adding backup-data-path to the body moves its members.
    const Json src = b["source"];
    std::string location =
        src.contains("path") && src["path"].is_string() ? src["path"].get<std::string>() : "";
    std::string kind = src["type"].is_string() ? src["type"].get<std::string>() : "";
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    if (kind == "local" && !location.empty()) {
      std::string rel = location;
      while (!rel.empty() && rel.front() == '/')
        rel.erase(rel.begin());
      b["backup-data-path"] = rel;
      b["source"]["path"] = "/";
      up.Warn("source.path",
              "ABS 2.x's backup location read as source {local-storage: {path: "
              "/}} with backup-data-path " +
                  ShortValue(rel) + "; write those instead");
    } else if (kind == "aws-s3" && location.rfind("s3://", 0) == 0) {
      std::string rest = location.substr(5);
      auto slash = rest.find('/');
      b["backup-data-path"] = slash == std::string::npos ? "" : rest.substr(slash + 1);
      b["source"]["path"] = "s3://" + rest.substr(0, slash);
      up.Warn("source.path",
              "ABS 2.x's backup location read as the bucket's root with "
              "backup-data-path " +
                  ShortValue(b["backup-data-path"].get<std::string>()) + "; write those instead");
    }
  }
  if (b.contains("source") && b["source"].is_object()) up.Storage(b["source"], "source");
  if (!b.contains("policy") || !b["policy"].is_object()) return b;
  Json& p = b["policy"];
  up.Rename(p, "policy", "timeout", "total-timeout", "ABS 2.x's name");
  if (p.contains("retry-policy") && p["retry-policy"].is_object()) {
    Json& retry = p["retry-policy"];
    up.Rename(retry, "policy.retry-policy", "baseTimeout", "base-timeout", "ABS 2.x's spelling");
    up.Rename(retry, "policy.retry-policy", "maxRetries", "max-retries", "ABS 2.x's spelling");
  }
  if (p.contains("bandwidth") && p["bandwidth"].is_number_integer()) {
    int64_t v = p["bandwidth"].get<int64_t>();
    if (v >= kBandwidthBytesPerSecondFrom) {
      int64_t mib = std::max<int64_t>(1, v / (1 << 20) + (v % (1 << 20) != 0 ? 1 : 0));
      p["bandwidth"] = mib;
      up.Warn("policy.bandwidth", std::to_string(v) +
                                      " is bytes/s as ABS 2.x and 3.0-3.1 wrote it (3.2 and later "
                                      "write MiB/s, and no restore runs at " +
                                      std::to_string(v) + " MiB/s): read as " +
                                      std::to_string(mib) + " MiB/s; write that instead");
    }
  }
  return b;
}

}  // namespace absvc::service
