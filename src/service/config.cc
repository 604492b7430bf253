#include "service/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "backupset/partition_set.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/secret_value.h"
#include "common/text.h"

namespace absvc::service {
namespace {

using Errors = std::vector<std::string>;

std::string TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

// The longest string any setting may hold.
constexpr size_t kMaxStringBytes = 64 << 10;

// Reads one JSON object field by field, recording errors with their paths; Finish()
// reports the fields nobody asked for.
class Fields {
 public:
  Fields(const Json* j, std::string path, Errors& errors)
      : path_(std::move(path)), errors_(errors) {
    if (j == nullptr || j->is_null()) {
      obj_ = &empty_;
    } else if (!j->is_object()) {
      Error("", "must be an object, got " + TypeName(*j));
      obj_ = &empty_;
    } else {
      obj_ = j;
    }
  }
  ~Fields() = default;

  std::string Path(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  void Error(const std::string& key, const std::string& message) {
    errors_.push_back(Path(key) + ": " + message);
  }

  const Json* Get(const std::string& key, bool required = false) {
    known_.insert(key);
    auto it = obj_->find(key);
    if (it == obj_->end() || it->is_null()) {
      if (required) Error(key, "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> String(const std::string& key, bool required = false) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    if (!j->is_string()) {
      Error(key, "must be a string, got " + TypeName(*j));
      return std::nullopt;
    }
    std::string s = j->get<std::string>();
    if (required && s.empty()) {
      Error(key, "must not be empty");
      return std::nullopt;
    }
    // No setting is longer (a filter expression is the longest); a huge value would be
    // copied into logs, listings and the history.
    if (s.size() > kMaxStringBytes) {
      Error(key, "is " + std::to_string(s.size()) + " bytes long; at most " +
                     std::to_string(kMaxStringBytes) + " are allowed");
      return std::nullopt;
    }
    return s;
  }

  // One of `allowed` (compared case-insensitively); returns the canonical spelling.
  std::optional<std::string> Enum(const std::string& key, const std::vector<std::string>& allowed,
                                  bool required = false) {
    auto s = String(key, required);
    if (!s) return std::nullopt;
    for (const auto& a : allowed) {
      if (a.size() == s->size() && std::equal(a.begin(), a.end(), s->begin(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
          })) {
        return a;
      }
    }
    std::string list;
    for (const auto& a : allowed)
      list += (list.empty() ? "" : ", ") + a;
    Error(key, "must be one of " + list + ", got '" + ShortValue(*s) + "'");
    return std::nullopt;
  }

  std::optional<int64_t> Int(const std::string& key, int64_t min, int64_t max,
                             bool required = false) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    int64_t v;
    if (j->is_number_integer()) {
      v = j->get<int64_t>();
    } else if (j->is_number_float() && j->get<double>() == static_cast<int64_t>(j->get<double>())) {
      v = static_cast<int64_t>(j->get<double>());
    } else {
      Error(key, "must be an integer, got " + TypeName(*j));
      return std::nullopt;
    }
    if (v < min || v > max) {
      Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                     std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> Number(const std::string& key, double min, double max) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_number()) {
      Error(key, "must be a number, got " + TypeName(*j));
      return std::nullopt;
    }
    double v = j->get<double>();
    if (!(v >= min && v <= max)) {
      Error(key, "must be within " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> Bool(const std::string& key) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_boolean()) {
      Error(key, "must be true or false, got " + TypeName(*j));
      return std::nullopt;
    }
    return j->get<bool>();
  }

  std::optional<std::vector<std::string>> Strings(const std::string& key, bool required = false,
                                                  bool unique = true) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    if (!j->is_array()) {
      Error(key, "must be a list of strings, got " + TypeName(*j));
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;  // linear in the list's length, however long
    for (size_t i = 0; i < j->size(); ++i) {
      const Json& e = (*j)[i];
      if (!e.is_string() || e.get<std::string>().empty()) {
        Error(key, "entry " + std::to_string(i) + " must be a non-empty string");
        return std::nullopt;
      }
      std::string s = e.get<std::string>();
      if (s.size() > kMaxStringBytes) {
        Error(key, "entry " + std::to_string(i) + " is " + std::to_string(s.size()) +
                       " bytes long; at most " + std::to_string(kMaxStringBytes) + " are allowed");
        return std::nullopt;
      }
      if (unique && !seen.insert(s).second) {
        Error(key, "lists '" + ShortValue(s) + "' twice");
        return std::nullopt;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::optional<std::vector<int64_t>> Ints(const std::string& key, int64_t min, int64_t max) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_array()) {
      Error(key, "must be a list of integers, got " + TypeName(*j));
      return std::nullopt;
    }
    std::vector<int64_t> out;
    for (size_t i = 0; i < j->size(); ++i) {
      const Json& e = (*j)[i];
      if (!e.is_number_integer() || e.get<int64_t>() < min || e.get<int64_t>() > max) {
        Error(key, "entry " + std::to_string(i) + " must be an integer " + std::to_string(min) +
                       ".." + std::to_string(max));
        return std::nullopt;
      }
      if (std::find(out.begin(), out.end(), e.get<int64_t>()) != out.end()) {
        Error(key, "lists " + std::to_string(e.get<int64_t>()) + " twice");
        return std::nullopt;
      }
      out.push_back(e.get<int64_t>());
    }
    return out;
  }

  // A secret-bearing string: literal values only; Secret Agent references are refused.
  std::optional<std::string> Secret(const std::string& key) {
    auto s = String(key);
    if (s && s->rfind("secrets:", 0) == 0) {
      Error(key,
            "Secret Agent references are not supported by abs yet; give the value, or a "
            "*-path file");
      return std::nullopt;
    }
    if (!s) return s;
    // file:, env:, env-b64: and b64: name where the secret lives; the document keeps the
    // reference, so saving the configuration never writes the secret itself.
    auto resolved = ResolveSecretValue(*s, Path(key));
    if (!resolved.ok()) {
      errors_.push_back(resolved.status().message());
      return std::nullopt;
    }
    return *resolved;
  }

  void Finish() {
    for (auto it = obj_->begin(); it != obj_->end(); ++it) {
      if (!known_.count(it.key())) Error(it.key(), "unknown field");
    }
  }

 private:
  const Json* obj_;
  Json empty_ = Json::object();
  std::string path_;
  Errors& errors_;
  std::set<std::string> known_;
};

template <typename T>
void Assign(T& field, const std::optional<T>& v) {
  if (v) field = *v;
}

void ParseService(const Json* j, ServiceConfig& s, Errors& errors) {
  Fields f(j, "service", errors);
  if (const Json* http = f.Get("http")) {
    Fields h(http, "service.http", errors);
    Assign(s.http.address, h.String("address"));
    if (auto p = h.Int("port", 1, 65535)) s.http.port = static_cast<int>(*p);
    if (auto cp = h.String("context-path")) {
      if (cp->empty() || (*cp)[0] != '/') {
        h.Error("context-path", "must start with '/'");
      } else {
        s.http.context_path = *cp;
      }
    }
    Assign(s.http.timeout_ms, h.Int("timeout", 0, INT32_MAX));
    Assign(s.http.read_timeout_ms, h.Int("read-timeout", 0, INT32_MAX));
    Assign(s.http.write_timeout_ms, h.Int("write-timeout", 0, INT32_MAX));
    Assign(s.http.idle_timeout_ms, h.Int("idle-timeout", 0, INT32_MAX));
    Assign(s.http.disabled, h.Bool("disabled"));
    if (const Json* rate = h.Get("rate")) {
      Fields r(rate, "service.http.rate", errors);
      Assign(s.http.rate_tps, r.Int("tps", 1, INT32_MAX));
      Assign(s.http.rate_size, r.Int("size", 1, INT32_MAX));
      Assign(s.http.rate_white_list, r.Strings("white-list"));
      for (const auto& entry : s.http.rate_white_list) {
        auto slash = entry.find('/');
        std::string addr = entry.substr(0, slash);
        in_addr v4{};
        in6_addr v6{};
        bool ok = inet_pton(AF_INET, addr.c_str(), &v4) == 1;
        if (slash != std::string::npos) {
          std::string bits = entry.substr(slash + 1);
          ok = ok && !bits.empty() && bits.size() <= 2 &&
               std::all_of(bits.begin(), bits.end(), ::isdigit) && std::stoi(bits) <= 32;
        } else {
          ok = ok || inet_pton(AF_INET6, addr.c_str(), &v6) == 1;
        }
        if (!ok) {
          r.Error("white-list",
                  "'" + ShortValue(entry) + "' is neither an IP address nor an IPv4 CIDR");
        }
      }
      r.Finish();
    }
    h.Finish();
  }
  if (const Json* https = f.Get("https")) {
    Fields h(https, "service.https", errors);
    h.Error("", "HTTPS is not supported by abs yet; put a TLS proxy in front of http");
  }
  if (const Json* logger = f.Get("logger")) {
    Fields l(logger, "service.logger", errors);
    if (auto lv = l.Enum("level", {"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR"})) {
      s.logger.level = *lv == "WARNING" ? "WARN" : *lv;
    }
    Assign(s.logger.format, l.Enum("format", {"PLAIN", "JSON"}));
    Assign(s.logger.stdout_writer, l.Bool("stdout-writer"));
    if (const Json* fw = l.Get("file-writer")) {
      Fields w(fw, "service.logger.file-writer", errors);
      Assign(s.logger.file, w.String("filename", true));
      Assign(s.logger.file_max_size_mb, w.Int("maxsize", 1, 1 << 20));
      w.Int("maxage", 0, 1 << 20);
      Assign(s.logger.file_max_backups, w.Int("maxbackups", 0, 1000));
      w.Bool("compress");
      w.Finish();
    }
    l.Finish();
  }
  if (const Json* backup = f.Get("backup")) {
    Fields b(backup, "service.backup", errors);
    Assign(s.timestamp_format, b.Enum("timestamp-format", {"ISO", "EU", "US"}));
    if (auto tz = b.String("schedule-timezone")) {
      if (*tz != "UTC" && *tz != "Local") {
        b.Error("schedule-timezone", "abs supports UTC and Local, got '" + ShortValue(*tz) + "'");
      } else {
        s.schedule_timezone = *tz;
      }
    }
    b.Finish();
  }
  f.Finish();
}

void ParseCluster(const std::string& name, const Json& j, ClusterConfig& c, Errors& errors) {
  std::string path = "aerospike-clusters." + name;
  Fields f(&j, path, errors);
  Assign(c.label, f.String("label"));
  if (const Json* seeds = f.Get("seed-nodes", true)) {
    if (!seeds->is_array() || seeds->empty()) {
      f.Error("seed-nodes", "must be a non-empty list");
    } else {
      for (size_t i = 0; i < seeds->size(); ++i) {
        Fields s(&(*seeds)[i], path + ".seed-nodes[" + std::to_string(i) + "]", errors);
        SeedNode n;
        Assign(n.host, s.String("host-name", true));
        if (auto p = s.Int("port", 1, 65535, true)) n.port = static_cast<int>(*p);
        Assign(n.tls_name, s.String("tls-name"));
        s.Finish();
        c.seeds.push_back(std::move(n));
      }
    }
  }
  Assign(c.conn_timeout_ms, f.Int("conn-timeout", 1, INT32_MAX));
  Assign(c.use_services_alternate, f.Bool("use-services-alternate"));
  if (const Json* cred = f.Get("credentials")) {
    Fields k(cred, path + ".credentials", errors);
    Assign(c.user, k.String("user", true));
    auto password = k.Secret("password");
    auto password_path = k.String("password-path");
    if (password && password_path) {
      k.Error("password", "give password or password-path, not both");
    } else if (password) {
      c.password = *password;
    } else if (password_path) {
      // Bounded: a password file is small, and /dev/zero or a FIFO must not hang.
      auto text = ReadSmallFile(*password_path, 4096, "password file");
      if (!text.ok()) {
        k.Error("password-path", text.status().message());
      } else {
        c.password = *text;
        while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r'))
          c.password.pop_back();
      }
    }
    Assign(c.auth_mode, k.Enum("auth-mode", {"INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI"}));
    if (c.auth_mode != "INTERNAL") {
      k.Error("auth-mode", "abs supports INTERNAL authentication only, got " + c.auth_mode);
    }
    if (k.Get("secret-agent") || k.Get("secret-agent-name")) {
      k.Error("secret-agent", "Secret Agent is not supported by abs yet");
    }
    k.Finish();
  }
  if (const Json* tls = f.Get("tls")) {
    Fields t(tls, path + ".tls", errors);
    ClusterTlsConfig tc;
    Assign(tc.ca_file, t.String("ca-file"));
    Assign(tc.ca_path, t.String("ca-path"));
    Assign(tc.cert_file, t.String("cert-file"));
    Assign(tc.key_file, t.String("key-file"));
    Assign(tc.key_file_password, t.Secret("key-file-password"));
    Assign(tc.name, t.String("name"));
    Assign(tc.protocols, t.String("protocols"));
    Assign(tc.cipher_suite, t.String("cipher-suite"));
    if (tc.cert_file.empty() != tc.key_file.empty()) {
      t.Error("cert-file", "cert-file and key-file go together");
    }
    t.Finish();
    c.tls = tc;
    for (size_t i = 0; i < c.seeds.size(); ++i) {
      if (c.seeds[i].tls_name.empty() && tc.name.empty()) {
        errors.push_back(path + ".seed-nodes[" + std::to_string(i) +
                         "].tls-name: is required when tls is set");
      }
    }
  }
  Assign(c.max_parallel_scans, f.Int("max-parallel-scans", 1, 1 << 20));
  if (auto racks = f.Ints("prefer-racks", 0, 1000000)) {
    for (auto r : *racks)
      c.prefer_racks.push_back(static_cast<uint32_t>(r));
  }
  f.Finish();
}

const std::vector<std::string> kStorageClasses = {
    "STANDARD",     "GLACIER",  "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR",  "SNOW",       "EXPRESS_ONEZONE",
    "NEARLINE",     "COLDLINE", "ARCHIVE",     "Hot",        "Cool",
    "Cold",         "Archive"};

// The class for data objects (metadata objects keep the bucket's default).
void ParseStorageClass(Fields& f, Errors& errors, StorageConfig& s) {
  if (const Json* sc = f.Get("storage-class")) {
    Fields c(sc, f.Path("storage-class"), errors);
    Assign(s.storage_class, c.Enum("data", kStorageClasses));
    c.Enum("metadata", kStorageClasses);
    c.Finish();
  }
}

void ParseSecretAgentRef(Fields& f) {
  if (f.Get("secret-agent") || f.Get("secret-agent-name")) {
    f.Error("secret-agent", "Secret Agent is not supported by abs yet");
  }
}

void ParseStorage(const std::string& name, const Json& j, StorageConfig& s, Errors& errors) {
  std::string path = "storage." + name;
  if (!j.is_object()) {
    errors.push_back(path + ": must be an object, got " + TypeName(j));
    return;
  }
  int kinds = 0;
  for (const char* k : {"local-storage", "s3-storage", "gcp-storage", "azure-storage"})
    kinds += j.contains(k) ? 1 : 0;
  if (kinds != 1) {
    errors.push_back(path +
                     ": needs exactly one of local-storage, s3-storage, gcp-storage, "
                     "azure-storage");
  }
  Fields f(&j, path, errors);
  if (const Json* l = f.Get("local-storage")) {
    Fields x(l, path + ".local-storage", errors);
    s.kind = StorageKind::kLocal;
    Assign(s.path, x.String("path", true));
    Assign(s.min_part_size, x.Int("min-part-size", 1, INT64_MAX));
    x.Finish();
  }
  if (const Json* s3 = f.Get("s3-storage")) {
    Fields x(s3, path + ".s3-storage", errors);
    s.kind = StorageKind::kS3;
    Assign(s.bucket, x.String("bucket", true));
    Assign(s.s3_region, x.String("s3-region", true));
    Assign(s.path, x.String("path"));
    Assign(s.s3_endpoint_override, x.String("s3-endpoint-override"));
    Assign(s.s3_profile, x.String("s3-profile"));
    Assign(s.s3_access_key_id, x.Secret("access-key-id"));
    Assign(s.s3_secret_access_key, x.Secret("secret-access-key"));
    x.Enum("s3-log-level", {"OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"});
    Assign(s.min_part_size, x.Int("min-part-size", 5 << 20, INT64_MAX));
    Assign(s.max_async_connections, x.Int("max-async-connections", 1, 1 << 16));
    Assign(s.s3_path_style, x.Bool("use-path-style"));
    ParseStorageClass(x, errors, s);
    ParseSecretAgentRef(x);
    x.Finish();
  }
  if (const Json* g = f.Get("gcp-storage")) {
    Fields x(g, path + ".gcp-storage", errors);
    s.kind = StorageKind::kGcs;
    Assign(s.bucket, x.String("bucket-name", true));
    Assign(s.path, x.String("path"));
    Assign(s.gcs_key_file_path, x.String("key-file-path"));
    Assign(s.gcs_key_json, x.Secret("key"));
    Assign(s.gcs_endpoint, x.String("endpoint"));
    Assign(s.min_part_size, x.Int("min-part-size", 256 << 10, INT64_MAX));
    ParseStorageClass(x, errors, s);
    ParseSecretAgentRef(x);
    x.Finish();
  }
  if (const Json* a = f.Get("azure-storage")) {
    Fields x(a, path + ".azure-storage", errors);
    s.kind = StorageKind::kAzure;
    Assign(s.azure_endpoint, x.String("endpoint", true));
    Assign(s.bucket, x.String("container-name", true));
    Assign(s.path, x.String("path"));
    Assign(s.azure_account_name, x.String("account-name"));
    Assign(s.azure_account_key, x.Secret("account-key"));
    Assign(s.azure_tenant_id, x.String("tenant-id"));
    Assign(s.azure_client_id, x.String("client-id"));
    Assign(s.azure_client_secret, x.Secret("client-secret"));
    Assign(s.azure_sas_token, x.Secret("sas-token"));
    Assign(s.min_part_size, x.Int("min-part-size", 1 << 20, INT64_MAX));
    ParseStorageClass(x, errors, s);
    ParseSecretAgentRef(x);
    x.Finish();
  }
  f.Finish();
  // A cloud prefix is kept as "a/b": no leading, trailing or doubled '/'.
  if (s.kind != StorageKind::kLocal) s.path = storage::NormalizePrefix(s.path);
}

void ParsePolicy(const std::string& name, const Json& j, BackupPolicyConfig& p, Errors& errors) {
  std::string path = "backup-policies." + name;
  Fields f(&j, path, errors);
  Assign(p.parallel, f.Int("parallel", 1, 1024));
  Assign(p.parallel_write, f.Int("parallel-write", 1, 1024));
  Assign(p.socket_timeout_ms, f.Int("socket-timeout", 0, INT32_MAX));
  Assign(p.total_timeout_ms, f.Int("total-timeout", 0, INT32_MAX));
  Assign(p.max_concurrent_nodes, f.Int("max-concurrent-nodes", 1, 1 << 16));
  f.Bool("use-scan-compression");
  if (const Json* r = f.Get("retry-policy")) {
    Fields x(r, path + ".retry-policy", errors);
    Assign(p.retry.base_timeout_ms, x.Int("base-timeout", 0, INT32_MAX));
    Assign(p.retry.max_retries, x.Int("max-retries", 0, 1000));
    Assign(p.retry.multiplier, x.Number("multiplier", 1.0, 100.0));
    x.Finish();
  }
  Assign(p.records_per_second, f.Int("records-per-second", 1, INT32_MAX));
  Assign(p.bandwidth_mib, f.Int("bandwidth", 1, 1 << 30));
  Assign(p.file_limit_mib, f.Int("file-limit", 1, 1 << 30));
  if (const Json* c = f.Get("compression")) {
    Fields x(c, path + ".compression", errors);
    Assign(p.compression, x.Enum("mode", {"NONE", "ZSTD"}, true));
    Assign(p.compression_level, x.Int("level", -1, 22));
    x.Finish();
  }
  if (const Json* e = f.Get("encryption")) {
    Fields x(e, path + ".encryption", errors);
    Assign(p.encryption, x.Enum("mode", {"NONE", "AES128", "AES256"}, true));
    Assign(p.key_file, x.String("key-file"));
    Assign(p.key_env, x.String("key-env"));
    Assign(p.key_secret, x.String("key-secret"));
    int sources = !p.key_file.empty() + !p.key_env.empty() + !p.key_secret.empty();
    if (!p.key_secret.empty()) x.Error("key-secret", "Secret Agent is not supported by abs yet");
    if (p.encryption != "NONE" && sources != 1) {
      x.Error("", "needs exactly one of key-file, key-env, key-secret");
    }
    x.Finish();
  }
  Assign(p.no_records, f.Bool("no-records"));
  Assign(p.no_indexes, f.Bool("no-indexes"));
  Assign(p.no_udfs, f.Bool("no-udfs"));
  if (const Json* r = f.Get("retention")) {
    Fields x(r, path + ".retention", errors);
    Assign(p.retention_full, x.Int("full", 1, INT32_MAX, true));
    Assign(p.retention_incremental, x.Int("incremental", 0, INT32_MAX));
    if (p.retention_full > 0 && p.retention_incremental > p.retention_full) {
      x.Error("incremental", "must not exceed full");
    }
    x.Finish();
  }
  Assign(p.sealed, f.Bool("sealed"));
  Assign(p.concurrent_incremental, f.Bool("concurrent-incremental"));
  Assign(p.with_cluster_configuration, f.Bool("with-cluster-configuration"));
  if (p.with_cluster_configuration) {
    f.Error("with-cluster-configuration", "saving node configuration is not supported by abs yet");
  }
  Assign(p.compact, f.Bool("compact"));
  Assign(p.incr_mode, f.Enum("incr-mode", {"differential", "cumulative"}));
  f.Finish();
}

void ParseRoutine(const std::string& name, const Json& j, const Config& cfg, RoutineConfig& r,
                  Errors& errors) {
  std::string path = "backup-routines." + name;
  Fields f(&j, path, errors);
  if (auto cron = f.String("interval-cron", true)) {
    auto s = CronSchedule::Parse(*cron);
    if (!s.ok()) {
      f.Error("interval-cron", s.status().message());
    } else if (!s->Next(std::time(nullptr))) {
      f.Error("interval-cron", "'" + ShortValue(*cron) + "' never fires again");
    } else {
      r.interval_cron = *s;
    }
  }
  if (auto cron = f.String("incr-interval-cron")) {
    if (!cron->empty()) {
      auto s = CronSchedule::Parse(*cron);
      if (!s.ok()) {
        f.Error("incr-interval-cron", s.status().message());
      } else if (!s->Next(std::time(nullptr))) {
        f.Error("incr-interval-cron", "'" + ShortValue(*cron) + "' never fires again");
      } else {
        r.incr_interval_cron = *s;
      }
    }
  }
  if (auto c = f.String("source-cluster", true)) {
    r.source_cluster = *c;
    if (!(cfg.document.contains("aerospike-clusters") &&
          cfg.document["aerospike-clusters"].contains(*c))) {
      f.Error("source-cluster", "no cluster named '" + *c + "' in aerospike-clusters");
    }
  }
  if (auto s = f.String("storage", true)) {
    r.storage = *s;
    if (!(cfg.document.contains("storage") && cfg.document["storage"].contains(*s))) {
      f.Error("storage", "no storage named '" + *s + "' in storage");
    }
  }
  if (auto p = f.String("backup-policy")) {
    r.backup_policy = *p;
    if (!(cfg.document.contains("backup-policies") &&
          cfg.document["backup-policies"].contains(*p))) {
      f.Error("backup-policy", "no policy named '" + *p + "' in backup-policies");
    }
  }
  if (f.Get("secret-agent")) f.Error("secret-agent", "Secret Agent is not supported by abs yet");
  Assign(r.namespaces, f.Strings("namespaces", true));
  Assign(r.set_list, f.Strings("set-list"));
  Assign(r.bin_list, f.Strings("bin-list"));
  Assign(r.partition_list, f.String("partition-list"));
  Assign(r.node_list, f.Strings("node-list"));
  if (auto racks = f.Ints("rack-list", 0, 1000000)) {
    for (auto x : *racks)
      r.rack_list.push_back(static_cast<uint32_t>(x));
  }
  if (!r.partition_list.empty()) {
    auto ps = backupset::PartitionSet::ParseList(r.partition_list);
    if (!ps.ok()) f.Error("partition-list", ps.status().message());
  }
  int slices = !r.partition_list.empty() + !r.node_list.empty() + !r.rack_list.empty();
  if (slices > 1) {
    f.Error("",
            "partition-list, node-list and rack-list are mutually exclusive; this routine "
            "sets " +
                std::to_string(slices) + " of them");
  }
  if (slices > 0 && cfg.clusters.count(r.source_cluster) &&
      !cfg.clusters.at(r.source_cluster).prefer_racks.empty()) {
    f.Error("",
            "a slice (partition-list, node-list or rack-list) cannot be used with the "
            "cluster's prefer-racks");
  }
  if (auto fe = f.String("filter-exp")) {
    if (!fe->empty() && !Base64Decode(*fe)) {
      f.Error("filter-exp", "must be a base64 packed expression");
    } else {
      r.filter_exp = *fe;
    }
    if (!r.filter_exp.empty() && r.set_list.size() > 1) {
      f.Error("filter-exp", "cannot be combined with more than one set in set-list");
    }
  }
  if (auto tz = f.String("schedule-timezone")) {
    if (*tz != "UTC" && *tz != "Local") {
      f.Error("schedule-timezone", "abs supports UTC and Local, got '" + ShortValue(*tz) + "'");
    } else {
      r.schedule_timezone = *tz;
    }
  }
  Assign(r.incr_mode, f.Enum("incr-mode", {"differential", "cumulative"}));
  Assign(r.disabled, f.Bool("disabled"));
  f.Finish();
}

template <typename T, typename Fn>
void ParseSection(const Json& doc, const char* key, std::map<std::string, T>& out, Errors& errors,
                  Fn parse) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return;
  if (!it->is_object()) {
    errors.push_back(std::string(key) + ": must be a map of names to entries");
    return;
  }
  for (auto e = it->begin(); e != it->end(); ++e) {
    Status st = ValidateEntityName(e.key());
    if (!st.ok()) {
      errors.push_back(std::string(key) + "." + ShortValue(e.key()) + ": " + st.message());
      continue;
    }
    T value;
    parse(e.key(), e.value(), value);
    out.emplace(e.key(), std::move(value));
  }
}

constexpr size_t kMaxStoragePathBytes = 4096;

// Plain YAML scalars typed by the YAML 1.2 core schema.
Json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && std::all_of(s.begin() + static_cast<long>(i), s.end(), ::isdigit)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return static_cast<int64_t>(v);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str() + 2, &end, s[1] == 'x' ? 16 : 8);
    if (*end == '\0') return static_cast<int64_t>(v);
  }
  {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    bool numeric_chars = s.find_first_not_of("0123456789+-.eE") == std::string::npos;
    if (numeric_chars && *end == '\0' && s.find_first_of("0123456789") != std::string::npos)
      return d;
  }
  return s;
}

// Converting a YAML document is bounded: aliases let a small file describe a huge or
// cyclic tree (a "billion laughs", `a: &a {b: *a}`), so the conversion refuses a cycle,
// nesting deeper than kMaxYamlDepth and more than a budget of values, and stays linear in
// what it produces.
constexpr size_t kMaxYamlDepth = 64;

struct YamlConversion {
  std::string where;
  size_t budget;                 // values left to produce
  std::vector<YAML::Node> path;  // the nodes being converted, outermost first

  Status TooBig() const {
    return Status::InvalidArgument(where + ": the document expands to too many values " +
                                   "(aliases repeated to build a YAML bomb?)");
  }

  Result<Json> Convert(const YAML::Node& n) {
    if (budget == 0) return TooBig();
    --budget;
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        if (n.Tag() == "!") return Json(n.Scalar());  // quoted
        return PlainScalar(n.Scalar());
      case YAML::NodeType::Sequence:
      case YAML::NodeType::Map:
        break;
    }
    for (const auto& outer : path) {
      if (outer.is(n)) {
        return Status::InvalidArgument(where + " line " + std::to_string(n.Mark().line + 1) +
                                       ": an alias refers to a node that contains it (a " +
                                       "recursive alias)");
      }
    }
    if (path.size() >= kMaxYamlDepth) {
      return Status::InvalidArgument(where + " line " + std::to_string(n.Mark().line + 1) +
                                     ": nests deeper than " + std::to_string(kMaxYamlDepth) +
                                     " levels");
    }
    path.push_back(n);
    auto out = n.IsSequence() ? ConvertSequence(n) : ConvertMap(n);
    path.pop_back();
    return out;
  }

  Result<Json> ConvertSequence(const YAML::Node& n) {
    Json arr = Json::array();
    for (const auto& e : n) {
      ABS_ASSIGN_OR_RETURN(Json v, Convert(e));
      arr.push_back(std::move(v));
    }
    return arr;
  }

  Result<Json> ConvertMap(const YAML::Node& n) {
    Json obj = Json::object();
    // ordered_json finds keys by a linear search: appending to its storage directly, with
    // duplicates caught by a hash set, keeps a map of n entries O(n) rather than O(n^2).
    auto& entries = static_cast<std::vector<std::pair<const std::string, Json>>&>(
        obj.get_ref<Json::object_t&>());
    std::unordered_set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        return Status::InvalidArgument(where + " line " + std::to_string(kv.first.Mark().line + 1) +
                                       ": map keys must be plain strings");
      }
      std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        return Status::InvalidArgument(where + " line " + std::to_string(kv.first.Mark().line + 1) +
                                       ": duplicate key '" + ShortValue(key) + "'");
      }
      ABS_ASSIGN_OR_RETURN(Json v, Convert(kv.second));
      entries.emplace_back(std::move(key), std::move(v));
    }
    return obj;
  }
};

Result<Json> NodeToJson(const YAML::Node& n, const std::string& where, size_t source_bytes) {
  // A document without aliases produces at most a value per few bytes; the budget leaves
  // room for honest aliases and stops bombs long before they exhaust memory.
  YamlConversion conversion{where, 100000 + 4 * source_bytes, {}};
  return conversion.Convert(n);
}

void EmitJson(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        EmitJson(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& e : j)
        EmitJson(out, e);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      std::string s = j.get<std::string>();
      // Quote what would otherwise read back as another type.
      if (!PlainScalar(s).is_string() || s.empty()) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case Json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      out << YAML::Null;
      break;
    case Json::value_t::number_float:
      out << j.get<double>();
      break;
    default:
      out << j.dump();
      break;
  }
}

const std::set<std::string> kSecretKeys = {
    "password",    "key-file-password", "secret-access-key", "access-key-id",
    "account-key", "client-secret",     "sas-token",         "key"};

void ParseRestorePolicy(const Json* j, RestorePolicyConfig& p, Errors& errors) {
  Fields f(j, "policy", errors);
  Assign(p.parallel, f.Int("parallel", 1, 1024));
  Assign(p.no_records, f.Bool("no-records"));
  Assign(p.no_indexes, f.Bool("no-indexes"));
  Assign(p.no_udfs, f.Bool("no-udfs"));
  Assign(p.no_generation, f.Bool("no-generation"));
  Assign(p.replace, f.Bool("replace"));
  Assign(p.unique, f.Bool("unique"));
  if (p.unique && (p.replace || p.no_generation)) {
    f.Error("unique", "cannot be combined with replace or no-generation");
  }
  Assign(p.extra_ttl, f.Int("extra-ttl", 0, UINT32_MAX));
  if (const Json* ns = f.Get("namespace")) {
    Fields x(ns, "policy.namespace", errors);
    Assign(p.namespace_source, x.String("source", true));
    Assign(p.namespace_destination, x.String("destination", true));
    x.Finish();
  }
  Assign(p.set_list, f.Strings("set-list"));
  Assign(p.bin_list, f.Strings("bin-list"));
  Assign(p.tps, f.Int("tps", 1, INT32_MAX));
  Assign(p.bandwidth_mib, f.Int("bandwidth", 1, 1 << 30));
  Assign(p.batch_size, f.Int("batch-size", 1, 100000));
  Assign(p.max_async_batches, f.Int("max-async-batches", 1, 100000));
  Assign(p.disable_batch_writes, f.Bool("disable-batch-writes"));
  Assign(p.salvage, f.Bool("salvage"));
  f.Int("socket-timeout", 0, INT32_MAX);
  f.Int("total-timeout", 0, INT32_MAX);
  if (const Json* r = f.Get("retry-policy")) {
    Fields x(r, "policy.retry-policy", errors);
    x.Int("base-timeout", 0, INT32_MAX);
    x.Int("max-retries", 0, 1000);
    x.Number("multiplier", 1.0, 100.0);
    x.Finish();
  }
  if (const Json* c = f.Get("compression")) {
    Fields x(c, "policy.compression", errors);
    Assign(p.compression, x.Enum("mode", {"NONE", "ZSTD"}, true));
    x.Int("level", -1, 22);
    x.Finish();
  }
  if (const Json* e = f.Get("encryption")) {
    Fields x(e, "policy.encryption", errors);
    Assign(p.encryption, x.Enum("mode", {"NONE", "AES128", "AES256"}, true));
    Assign(p.key_file, x.String("key-file"));
    Assign(p.key_env, x.String("key-env"));
    if (x.Get("key-secret")) x.Error("key-secret", "Secret Agent is not supported by abs yet");
    if (p.encryption != "NONE" && p.key_file.empty() == p.key_env.empty()) {
      x.Error("", "needs exactly one of key-file, key-env");
    }
    x.Finish();
  }
  f.Finish();
}

}  // namespace

Result<RestoreRequest> ParseRestoreRequest(const Json& body, bool timestamp) {
  Errors errors;
  RestoreRequest r;
  if (!body.is_object()) {
    return Status::InvalidArgument("the request body must be a JSON object, got " + TypeName(body));
  }
  Fields f(&body, "", errors);
  if (timestamp) {
    Assign(r.routine, f.String("routine", true));
    if (const Json* t = f.Get("time", true)) {
      int64_t v = -1;
      if (t->is_number_integer()) {
        v = t->get<int64_t>();
      } else if (t->is_string()) {
        const std::string& s = t->get_ref<const std::string&>();
        if (!s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), ::isdigit))
          v = std::stoll(s);
      }
      if (v < 1000000000000LL) {
        f.Error("time",
                "must be epoch milliseconds (>= 1000000000000), as a number or a "
                "numeric string");
      } else {
        r.time_ms = v;
      }
    }
    Assign(r.disable_reordering, f.Bool("disable-reordering"));
  } else {
    Assign(r.backup_data_path, f.String("backup-data-path", true));
    // Paths in storage are short; a huge one would be copied into the history and logs.
    if (r.backup_data_path.size() > kMaxStoragePathBytes) {
      f.Error("backup-data-path", "is " + std::to_string(r.backup_data_path.size()) +
                                      " bytes long; at most " +
                                      std::to_string(kMaxStoragePathBytes) + " are allowed");
    }
  }
  Assign(r.source_name, f.String("source-name"));
  if (const Json* s = f.Get("source")) {
    StorageConfig sc;
    ParseStorage("(source)", *s, sc, errors);
    r.source = sc;
  }
  Assign(r.destination_name, f.String("destination-name"));
  if (const Json* d = f.Get("destination")) {
    ClusterConfig cc;
    ParseCluster("(destination)", *d, cc, errors);
    r.destination = cc;
  }
  if (r.source && !r.source_name.empty()) f.Error("source", "give source or source-name, not both");
  if (r.destination && !r.destination_name.empty()) {
    f.Error("destination", "give destination or destination-name, not both");
  }
  if (!timestamp && !r.source && r.source_name.empty()) f.Error("source", "is required");
  if (!timestamp && !r.destination && r.destination_name.empty()) {
    f.Error("destination", "is required");
  }
  if (f.Get("secret-agent") || f.Get("secret-agent-name")) {
    f.Error("secret-agent", "Secret Agent is not supported by abs yet");
  }
  ParseRestorePolicy(f.Get("policy"), r.policy, errors);
  f.Finish();
  if (!errors.empty()) {
    std::string msg = "invalid restore request: ";
    for (size_t i = 0; i < errors.size(); ++i)
      msg += (i ? "; " : "") + errors[i];
    return Status::InvalidArgument(msg);
  }
  return r;
}

const BackupPolicyConfig& Config::PolicyOf(const RoutineConfig& r) const {
  static const BackupPolicyConfig kDefaults;
  auto it = policies.find(r.backup_policy);
  return it == policies.end() ? kDefaults : it->second;
}

Status ValidateEntityName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("a name must not be empty");
  if (name == "." || name == "..")
    return Status::InvalidArgument("'" + ShortValue(name) + "' is not a name");
  if (name.size() > 255) {
    return Status::InvalidArgument("a name is at most 255 characters, got " +
                                   std::to_string(name.size()));
  }
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("name '" + ShortValue(name) +
                                     "' must be a single path segment (no '/', '\\' or control "
                                     "characters)");
    }
  }
  return Status::Ok();
}

Result<Config> ParseConfig(const Json& document) {
  Errors errors;
  Config cfg;
  if (!document.is_object() && !document.is_null()) {
    return Status::InvalidArgument("configuration must be an object, got " + TypeName(document));
  }
  cfg.document = document.is_null() ? Json::object() : document;
  {
    Fields top(&cfg.document, "", errors);
    for (const char* k : {"service", "aerospike-clusters", "storage", "backup-policies",
                          "backup-routines", "secret-agents"})
      top.Get(k);
    top.Finish();
  }
  const Json& doc = cfg.document;
  ParseService(doc.contains("service") ? &doc["service"] : nullptr, cfg.service, errors);
  ParseSection(doc, "aerospike-clusters", cfg.clusters, errors,
               [&](const std::string& n, const Json& j, ClusterConfig& c) {
                 ParseCluster(n, j, c, errors);
               });
  ParseSection(doc, "storage", cfg.storage, errors,
               [&](const std::string& n, const Json& j, StorageConfig& s) {
                 ParseStorage(n, j, s, errors);
               });
  ParseSection(doc, "backup-policies", cfg.policies, errors,
               [&](const std::string& n, const Json& j, BackupPolicyConfig& p) {
                 ParsePolicy(n, j, p, errors);
               });
  ParseSection(doc, "backup-routines", cfg.routines, errors,
               [&](const std::string& n, const Json& j, RoutineConfig& r) {
                 ParseRoutine(n, j, cfg, r, errors);
               });
  if (doc.contains("secret-agents") && !doc["secret-agents"].is_null() &&
      !doc["secret-agents"].empty()) {
    errors.push_back("secret-agents: Secret Agent is not supported by abs yet");
  }
  if (!errors.empty()) {
    std::string msg = "invalid configuration (" + std::to_string(errors.size()) +
                      (errors.size() == 1 ? " problem): " : " problems): ");
    for (size_t i = 0; i < errors.size(); ++i)
      msg += (i ? "; " : "") + errors[i];
    return Status::InvalidArgument(msg);
  }
  return cfg;
}

// The byte offset of the first invalid UTF-8 sequence, or npos.
static size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return i;
    }
    if (n == 2 && c < 0xC2) return i;  // overlong
    i += n;
  }
  return std::string_view::npos;
}

Result<Json> YamlToJson(std::string_view yaml, const std::string& source_name) {
  if (size_t bad = InvalidUtf8At(yaml); bad != std::string_view::npos) {
    return Status::InvalidArgument(source_name + ": not valid UTF-8 at byte " +
                                   std::to_string(bad));
  }
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return NodeToJson(root, source_name, yaml.size());
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source_name + " line " + std::to_string(e.mark.line + 1) +
                                   " column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

std::string JsonToYaml(const Json& document) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitJson(out, document);
  return std::string(out.c_str()) + "\n";
}

size_t JsonNestingDepth(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

Result<Config> LoadConfigFile(const std::string& path) {
  ABS_ASSIGN_OR_RETURN(std::string text,
                       ReadSmallFile(path, kMaxConfigFileBytes, "configuration file"));
  Json doc;
  bool json_file = path.size() > 5 && path.substr(path.size() - 5) == ".json";
  if (json_file) {
    if (JsonNestingDepth(text) > kMaxYamlDepth) {
      return Status::InvalidArgument(path + ": nests deeper than " + std::to_string(kMaxYamlDepth) +
                                     " levels");
    }
    doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  } else {
    ABS_ASSIGN_OR_RETURN(doc, YamlToJson(text, path));
  }
  auto cfg = ParseConfig(doc);
  if (!cfg.ok()) return cfg.status().WithContext(path);
  return cfg;
}

Status SaveConfigFile(const std::string& path, const Json& document) {
  // In the format it was read in: LoadConfigFile reads *.json as JSON.
  bool json_file = path.size() > 5 && path.substr(path.size() - 5) == ".json";
  std::string text = json_file ? document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"
                               : JsonToYaml(document);
  std::string tmp = path + ".abs-partial";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Io("cannot write " + tmp + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::Io("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Io("cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Json RedactSecrets(const Json& document) {
  Json out = document;
  std::function<void(Json&)> walk = [&](Json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (kSecretKeys.count(it.key()) && it.value().is_string() &&
            !it.value().get<std::string>().empty()) {
          it.value() = kRedacted;
        } else {
          walk(it.value());
        }
      }
    } else if (j.is_array()) {
      for (auto& e : j)
        walk(e);
    }
  };
  walk(out);
  return out;
}

Json KeepStoredSecrets(const Json& incoming, const Json& stored) {
  Json out = incoming;
  std::function<void(Json&, const Json*)> walk = [&](Json& j, const Json* old) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        const Json* o =
            (old && old->is_object() && old->contains(it.key())) ? &(*old)[it.key()] : nullptr;
        if (it.value().is_string() && it.value().get<std::string>() == kRedacted) {
          if (o) it.value() = *o;
        } else {
          walk(it.value(), o);
        }
      }
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        const Json* o = (old && old->is_array() && i < old->size()) ? &(*old)[i] : nullptr;
        walk(j[i], o);
      }
    }
  };
  walk(out, &stored);
  return out;
}

}  // namespace absvc::service
