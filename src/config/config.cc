#include "config/config.h"

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
#include "common/tls.h"
#include "config/fields.h"
#include "config/legacy.h"
#include "wire/digest.h"

namespace absvc::service {
namespace {

using config_fields::Assign;
using config_fields::Errors;
using config_fields::Fields;
using config_fields::TypeName;

// A count ABS bounds only from below. Above `cap`, more than abs puts to use, it runs
// `cap`, with a warning: the file still loads, as it does in ABS.
std::optional<int64_t> Capped(Fields& f, const std::string& key, int64_t min, int64_t cap) {
  auto v = f.Int(key, min, INT64_MAX);
  if (v && *v > cap) {
    if (config_fields::warnings != nullptr) {
      config_fields::warnings->push_back(f.Path(key) + ": " + std::to_string(*v) + " is read as " +
                                         std::to_string(cap) + ", the most abs uses");
    }
    return cap;
  }
  return v;
}

// secret-agents.<name> or an inline secret-agent.
void ParseSecretAgent(Fields& a, SecretAgentConfig& out) {
  Assign(out.connection_type, a.Enum("connection-type", {"tcp", "unix"}, true));
  Assign(out.address, a.String("address", true));
  bool tcp = out.connection_type == "tcp";
  // The Secret Agent's own default port, as ABS leaves it optional.
  out.port = 3005;
  if (auto p = a.Int("port", 1, 65535)) out.port = static_cast<int>(*p);
  if (auto t = a.Int("timeout", 1, 3600000)) out.timeout = std::chrono::milliseconds(*t);
  // ca-file, cert-file, key-file and name are ABS 3.7's spelling; tls-ca-file is the
  // earlier one, kept as its synonym.
  auto ca_file = a.String("ca-file");
  auto tls_ca_file = a.String("tls-ca-file");
  if (ca_file && tls_ca_file && *ca_file != *tls_ca_file) {
    a.Error("ca-file", "give ca-file or its older name tls-ca-file, not both");
  }
  Assign(out.tls_ca_file, ca_file ? ca_file : tls_ca_file);
  Assign(out.tls_cert_file, a.String("cert-file"));
  Assign(out.tls_key_file, a.String("key-file"));
  Assign(out.tls_name, a.String("name"));
  Assign(out.is_base64, a.Bool("is-base64"));
  const bool tls = !out.tls_ca_file.empty() || !out.tls_cert_file.empty() ||
                   !out.tls_key_file.empty() || !out.tls_name.empty();
  if (!tcp && tls) {
    a.Error(ca_file || !tls_ca_file ? "ca-file" : "tls-ca-file",
            "TLS is for connection-type tcp; a unix socket is local already");
  } else if (tls && out.tls_ca_file.empty()) {
    a.Error("ca-file",
            "is required with cert-file, key-file or name: the agent's certificate "
            "is verified against it");
  }
  if (out.tls_cert_file.empty() != out.tls_key_file.empty()) {
    a.Error("cert-file", "cert-file and key-file go together");
  }
  a.Finish();
}

// An object's secret-agent (inline) or secret-agent-name: the agent its references use.
void SelectSecretAgent(Fields& f) {
  const Json* inline_agent = f.Get("secret-agent");
  auto name = f.String("secret-agent-name");
  if (inline_agent && name) {
    f.Error("secret-agent", "give secret-agent or secret-agent-name, not both");
    return;
  }
  if (inline_agent) {
    size_t before = f.errors().size();
    Fields a(inline_agent, f.Path("secret-agent"), f.errors());
    SecretAgentConfig agent;
    ParseSecretAgent(a, agent);
    if (f.errors().size() == before) f.UseSecretAgent(agent);
  } else if (name) {
    const auto* scope = config_fields::secret_scope;
    const auto* agents = scope ? scope->agents : nullptr;
    auto it =
        agents ? agents->find(*name) : std::map<std::string, SecretAgentConfig>::const_iterator{};
    if (!agents || it == agents->end()) {
      f.Error("secret-agent-name",
              "no secret agent named '" + ShortValue(*name) + "' in secret-agents");
    } else {
      f.UseSecretAgent(it->second);
    }
  }
}

// The settings service.http and service.https share.
void ParseListener(Fields& h, HttpConfig& l, Errors& errors) {
  Assign(l.address, h.String("address"));
  if (auto p = h.Int("port", 1, 65535)) l.port = static_cast<int>(*p);
  if (auto cp = h.String("context-path")) {
    if (cp->empty() || (*cp)[0] != '/') {
      h.Error("context-path", "must start with '/'");
    } else {
      l.context_path = *cp;
    }
  }
  Assign(l.timeout_ms, h.Int("timeout", 0, INT32_MAX));
  Assign(l.read_timeout_ms, h.Int("read-timeout", 0, INT32_MAX));
  Assign(l.write_timeout_ms, h.Int("write-timeout", 0, INT32_MAX));
  Assign(l.idle_timeout_ms, h.Int("idle-timeout", 0, INT32_MAX));
  Assign(l.disabled, h.Bool("disabled"));
  if (const Json* rate = h.Get("rate")) {
    Fields r(rate, h.Path("rate"), errors);
    Assign(l.rate_tps, r.Int("tps", 1, INT32_MAX));
    Assign(l.rate_size, r.Int("size", 1, INT32_MAX));
    Assign(l.rate_white_list, r.Strings("white-list"));
    for (const auto& entry : l.rate_white_list) {
      auto slash = entry.find('/');
      std::string addr = entry.substr(0, slash);
      in_addr v4{};
      in6_addr v6{};
      const bool is_v4 = inet_pton(AF_INET, addr.c_str(), &v4) == 1;
      bool ok = is_v4 || inet_pton(AF_INET6, addr.c_str(), &v6) == 1;
      if (ok && slash != std::string::npos) {
        std::string bits = entry.substr(slash + 1);
        ok = !bits.empty() && bits.size() <= 3 &&
             std::all_of(bits.begin(), bits.end(), ::isdigit) &&
             std::stoi(bits) <= (is_v4 ? 32 : 128);
      }
      if (!ok) {
        r.Error("white-list", "'" + ShortValue(entry) + "' is neither an IP address nor a CIDR");
      }
    }
    r.Finish();
  }
}

void ParseService(const Json* j, ServiceConfig& s, Errors& errors) {
  Fields f(j, "service", errors);
  if (const Json* http = f.Get("http")) {
    Fields h(http, "service.http", errors);
    ParseListener(h, s.http, errors);
    h.Finish();
  }
  if (const Json* https = f.Get("https")) {
    Fields h(https, "service.https", errors);
    HttpsConfig tls;
    tls.listener.port = 8443;
    ParseListener(h, tls.listener, errors);
    // A disabled listener needs no certificate (ABS requires one only when enabled).
    Assign(tls.cert_file, h.String("cert-file", !tls.listener.disabled));
    Assign(tls.key_file, h.String("key-file", !tls.listener.disabled));
    SelectSecretAgent(h);
    Assign(tls.key_file_password, h.Secret("key-file-password"));
    Assign(tls.client_auth, h.Enum("client-auth", {"none", "request", "require-and-verify"}));
    Assign(tls.client_ca_file, h.String("client-ca-file"));
    Assign(tls.crl_file, h.String("crl-file"));
    if (!tls.crl_file.empty() && tls.client_auth == "none") {
      h.Error("crl-file", "revokes client certificates, and client-auth none asks for none");
    }
    if (tls.client_auth != "none" && tls.client_ca_file.empty()) {
      h.Error("client-ca-file", "is required with client-auth " + tls.client_auth +
                                    ": client certificates are verified against it");
    }
    if (auto suites = h.Strings("cipher-suites")) {
      for (const auto& name : *suites) {
        if (!tls::KnownCipherSuite(name)) {
          h.Error("cipher-suites", "'" + ShortValue(name) + "' is not a cipher suite abs knows");
        }
      }
      tls.cipher_suites = *suites;
    }
    Assign(tls.min_version, h.Enum("min-version", {"1.2", "1.3"}));
    // One API serves both listeners, so both share one context-path.
    if (!h.Get("context-path")) {
      tls.listener.context_path = s.http.context_path;
    } else if (!s.http.disabled && tls.listener.context_path != s.http.context_path) {
      h.Error("context-path", "must equal service.http.context-path (" + s.http.context_path +
                                  "): one API serves both listeners");
    }
    h.Finish();
    if (!tls.listener.disabled) s.https = std::move(tls);
  }
  if (s.http.disabled && !s.https) {
    f.Error("http", "disabled, and no enabled service.https: nothing would serve the API");
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
      // 0 is "the default", as in ABS.
      if (auto mb = w.Int("maxsize", 0, 1 << 20)) s.logger.file_max_size_mb = *mb ? *mb : 100;
      Assign(s.logger.file_max_age_days, w.Int("maxage", 0, 1 << 20));
      Assign(s.logger.file_max_backups, w.Int("maxbackups", 0, 1000));
      Assign(s.logger.file_compress, w.Bool("compress"));
      w.Finish();
    }
    l.Finish();
  }
  Assign(s.memory_budget_mib, f.Int("memory-budget-mib", 16, 1 << 20));
  if (auto shown = f.Enum("config-secrets", {"as-written", "redacted"})) {
    s.redact_config_secrets = *shown == "redacted";
  }
  if (const Json* backup = f.Get("backup")) {
    Fields b(backup, "service.backup", errors);
    Assign(s.timestamp_format, b.Enum("timestamp-format", {"ISO", "EU", "US"}));
    if (auto tz = b.String("schedule-timezone")) {
      if (auto zone = ScheduleZone(*tz); !zone.ok()) {
        b.Error("schedule-timezone", zone.status().message());
      } else {
        s.schedule_timezone = CanonicalZoneName(*tz);
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
    SelectSecretAgent(k);
    Assign(c.auth_mode, k.Enum("auth-mode", {"INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI"}));
    auto password = k.Secret("password");
    auto password_path = k.String("password-path");
    // A user goes with a password (PKI logs in with the client certificate alone);
    // credentials with neither log in as nobody, as in ABS.
    Assign(c.user,
           k.String("user", c.auth_mode != "PKI" && (password.has_value() || password_path)));
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
  if (c.auth_mode == "EXTERNAL" && !c.tls && config_fields::warnings != nullptr) {
    config_fields::warnings->push_back(
        path +
        ".credentials.auth-mode: EXTERNAL without tls sends the password to the cluster "
        "in clear text, as ABS does; give tls, or write EXTERNAL_INSECURE to say the risk is "
        "taken");
  }
  if (c.auth_mode == "PKI" && (!c.tls || c.tls->cert_file.empty())) {
    errors.push_back(path +
                     ".credentials.auth-mode: PKI logs in with a client certificate; give tls "
                     "with cert-file and key-file");
  }
  Assign(c.max_parallel_scans, Capped(f, "max-parallel-scans", 1, 1 << 20));
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
    SelectSecretAgent(x);
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
    // 0 is "the default", as in ABS.
    if (auto n = x.Int("max-async-connections", 0, 1 << 16); n && *n > 0) {
      s.max_async_connections = *n;
    }
    Assign(s.s3_path_style, x.Bool("use-path-style"));
    ParseStorageClass(x, errors, s);
    x.Finish();
  }
  if (const Json* g = f.Get("gcp-storage")) {
    Fields x(g, path + ".gcp-storage", errors);
    SelectSecretAgent(x);
    s.kind = StorageKind::kGcs;
    Assign(s.bucket, x.String("bucket-name", true));
    Assign(s.path, x.String("path"));
    Assign(s.gcs_key_file_path, x.String("key-file-path"));
    Assign(s.gcs_key_json, x.Secret("key"));
    Assign(s.gcs_endpoint, x.String("endpoint"));
    Assign(s.min_part_size, x.Int("min-part-size", 256 << 10, INT64_MAX));
    ParseStorageClass(x, errors, s);
    x.Finish();
  }
  if (const Json* a = f.Get("azure-storage")) {
    Fields x(a, path + ".azure-storage", errors);
    SelectSecretAgent(x);
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
    x.Finish();
  }
  f.Finish();
  // A cloud prefix is kept as "a/b": no leading, trailing or doubled '/'.
  if (s.kind != StorageKind::kLocal) s.path = storage::NormalizePrefix(s.path);
}

void ParsePolicy(const std::string& name, const Json& j, BackupPolicyConfig& p, Errors& errors) {
  std::string path = "backup-policies." + name;
  Fields f(&j, path, errors);
  Assign(p.parallel, Capped(f, "parallel", 1, 1024));
  Assign(p.parallel_write, Capped(f, "parallel-write", 1, 1024));
  Assign(p.socket_timeout_ms, f.Int("socket-timeout", 0, INT32_MAX));
  Assign(p.total_timeout_ms, f.Int("total-timeout", 0, INT32_MAX));
  Assign(p.max_concurrent_nodes, Capped(f, "max-concurrent-nodes", 1, 1 << 16));
  Assign(p.use_scan_compression, f.Bool("use-scan-compression"));
  if (const Json* r = f.Get("retry-policy")) {
    Fields x(r, path + ".retry-policy", errors);
    Assign(p.retry.base_timeout_ms, x.Int("base-timeout", 0, INT32_MAX));
    Assign(p.retry.max_retries, Capped(x, "max-retries", 0, 1000));
    // ABS sets no upper bound; past 100 the second retry waits over an hour already.
    if (auto m = x.Number("multiplier", 1.0, 1e9)) p.retry.multiplier = std::min(*m, 100.0);
    x.Finish();
  }
  // 0 is "no limit" for each, as in ABS.
  Assign(p.records_per_second, f.Int("records-per-second", 0, INT32_MAX));
  Assign(p.bandwidth_mib, f.Int("bandwidth", 0, 1 << 30));
  Assign(p.file_limit_mib, f.Int("file-limit", 0, 1 << 30));
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
    if (!p.key_secret.empty()) {
      // Fetched once the routines are read: a routine may name the agent that holds it.
      if (auto ref = client::ParseSecretRef(p.key_secret); !ref.ok()) {
        x.Error("key-secret", ref.status().message());
      }
    }
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
    Assign(p.retention_full, x.Int("full", 1, INT32_MAX));
    Assign(p.retention_incremental, x.Int("incremental", 0, INT32_MAX));
    if (p.retention_full > 0 && p.retention_incremental > p.retention_full) {
      x.Error("incremental", "must not exceed full");
    }
    x.Finish();
  }
  Assign(p.sealed, f.Bool("sealed"));
  Assign(p.concurrent_incremental, f.Bool("concurrent-incremental"));
  Assign(p.with_cluster_configuration, f.Bool("with-cluster-configuration"));
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
  if (auto agent = f.String("secret-agent")) {
    if (!cfg.secret_agents.count(*agent)) {
      f.Error("secret-agent",
              "no secret agent named '" + ShortValue(*agent) + "' in secret-agents");
    } else {
      r.secret_agent = *agent;
    }
  }
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
  if (const Json* a = f.Get("auto-slice")) {
    Fields x(a, f.Path("auto-slice"), errors);
    auto count = x.Int("count", 1, wire::kPartitionCount, true);
    auto index = x.Int("index", 0, wire::kPartitionCount - 1);
    auto env = x.String("index-env");
    if (index.has_value() == env.has_value()) {
      x.Error("", "needs exactly one of index and index-env");
    } else if (env) {
      // Read when the configuration loads: a replica's index is fixed for its life.
      const char* value = std::getenv(env->c_str());
      std::string text = value ? value : "";
      if (!value || text.empty()) {
        x.Error("index-env", "environment variable " + *env + " is not set");
      } else if (text.size() > 4 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
        x.Error("index-env", "environment variable " + *env + " is '" + ShortValue(text) +
                                 "', not a slice index (0, 1, 2, ...)");
      } else {
        index = std::stoll(text);
      }
    }
    if (count && index && *index >= *count) {
      x.Error(env ? "index-env" : "index", "is " + std::to_string(*index) + ": slices of " +
                                               std::to_string(*count) + " are numbered 0.." +
                                               std::to_string(*count - 1));
    } else if (count && index) {
      r.auto_slice = {static_cast<uint32_t>(*index), static_cast<uint32_t>(*count)};
    }
    x.Finish();
  }
  int slices = !r.partition_list.empty() + !r.node_list.empty() + !r.rack_list.empty() +
               (f.Get("auto-slice") != nullptr);
  if (slices > 1) {
    f.Error("",
            "auto-slice, partition-list, node-list and rack-list are mutually exclusive; this "
            "routine sets " +
                std::to_string(slices) + " of them");
  } else if (r.auto_slice) {
    r.partition_list =
        backupset::PartitionSet::SliceOf(r.auto_slice->first, r.auto_slice->second).ToList();
  }
  if (slices > 0 && cfg.clusters.count(r.source_cluster) &&
      !cfg.clusters.at(r.source_cluster).prefer_racks.empty()) {
    f.Error("",
            "a slice (auto-slice, partition-list, node-list or rack-list) cannot be used with "
            "the "
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
    if (auto zone = ScheduleZone(*tz); !zone.ok()) {
      f.Error("schedule-timezone", zone.status().message());
    } else {
      r.schedule_timezone = CanonicalZoneName(*tz);
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

// `agent`: the request's secret-agent, which a key-secret goes to.
void ParseRestorePolicy(const Json* j, RestorePolicyConfig& p, Errors& errors,
                        const std::optional<SecretAgentConfig>& agent) {
  Fields f(j, "policy", errors);
  Assign(p.parallel, Capped(f, "parallel", 1, 1024));
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
  // 0 is "no limit" for both, as in ABS.
  Assign(p.tps, f.Int("tps", 0, INT32_MAX));
  Assign(p.bandwidth_mib, f.Int("bandwidth", 0, 1 << 30));
  Assign(p.batch_size, Capped(f, "batch-size", 1, 100000));
  Assign(p.max_async_batches, Capped(f, "max-async-batches", 1, 100000));
  Assign(p.disable_batch_writes, f.Bool("disable-batch-writes"));
  Assign(p.salvage, f.Bool("salvage"));
  // Accepted as ABS documents them; abs's restore writes keep their own timeouts and
  // retries, which the request is told.
  for (const char* k : {"socket-timeout", "total-timeout"}) {
    if (f.Int(k, 0, INT32_MAX) && config_fields::warnings != nullptr) {
      config_fields::warnings->push_back(
          f.Path(k) + ": accepted and not applied: abs's restore writes use their own timeout");
    }
  }
  if (const Json* r = f.Get("retry-policy")) {
    if (config_fields::warnings != nullptr) {
      config_fields::warnings->push_back(
          f.Path("retry-policy") +
          ": accepted and not applied: abs retries a failed batch with its own backoff");
    }
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
    if (agent) x.UseSecretAgent(*agent);
    if (auto ref = x.String("key-secret")) Assign(p.key_pem, x.FromSecretAgent("key-secret", *ref));
    int sources = !p.key_file.empty() + !p.key_env.empty() + (x.Get("key-secret") != nullptr);
    if (p.encryption != "NONE" && sources != 1) {
      x.Error("", "needs exactly one of key-file, key-env, key-secret");
    }
    x.Finish();
  }
  f.Finish();
}

}  // namespace

Result<RestoreRequest> ParseRestoreRequest(const Json& as_written, bool timestamp,
                                           const std::map<std::string, SecretAgentConfig>& agents,
                                           const SecretFetcher& fetch) {
  Errors errors;
  RestoreRequest r;
  if (!as_written.is_object()) {
    return Status::InvalidArgument("the request body must be a JSON object, got " +
                                   TypeName(as_written));
  }
  LegacyReading legacy;
  const Json body = UpgradeLegacyRestoreRequest(as_written, legacy);
  r.warnings = std::move(legacy.warnings);
  errors.insert(errors.end(), legacy.errors.begin(), legacy.errors.end());
  config_fields::WarningsGuard warnings_guard(&r.warnings);
  config_fields::SecretScope scope{&agents, &fetch};
  config_fields::SecretScopeGuard guard(&scope);
  Fields f(&body, "", errors);
  SelectSecretAgent(f);
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
  ParseRestorePolicy(f.Get("policy"), r.policy, errors, f.secret_agent());
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

// Fetches each policy's key-secret from the agent its routines name (one agent for all of
// them), or from the only configured agent.
void FetchKeySecrets(Config& cfg, Errors& errors) {
  for (auto& [name, p] : cfg.policies) {
    if (p.key_secret.empty() || !client::IsSecretRef(p.key_secret)) continue;
    std::set<std::string> named;
    for (const auto& [routine, r] : cfg.routines) {
      if (r.backup_policy == name && !r.secret_agent.empty()) named.insert(r.secret_agent);
    }
    Fields f(nullptr, "backup-policies." + name + ".encryption", errors);
    if (named.size() > 1) {
      f.Error("key-secret", "its routines name different secret agents (" + *named.begin() + ", " +
                                *std::next(named.begin()) + "); one policy has one key");
      continue;
    }
    if (named.size() == 1) f.UseSecretAgent(cfg.secret_agents.at(*named.begin()));
    Assign(p.key_pem, f.FromSecretAgent("key-secret", p.key_secret));
  }
}

Result<Config> ParseConfig(const Json& document, const SecretFetcher& fetch) {
  Errors errors;
  Config cfg;
  if (!document.is_object() && !document.is_null()) {
    return Status::InvalidArgument("configuration must be an object, got " + TypeName(document));
  }
  cfg.document = document.is_null() ? Json::object() : document;
  // Earlier ABS releases' spellings are read as today's, each with a warning; the
  // document stays as written.
  LegacyReading legacy;
  const Json doc = UpgradeLegacyConfig(cfg.document, legacy);
  cfg.warnings = std::move(legacy.warnings);
  errors.insert(errors.end(), legacy.errors.begin(), legacy.errors.end());
  config_fields::WarningsGuard warnings_guard(&cfg.warnings);
  {
    Fields top(&doc, "", errors);
    for (const char* k : {"service", "aerospike-clusters", "storage", "backup-policies",
                          "backup-routines", "secret-agents"})
      top.Get(k);
    top.Finish();
  }
  // Agents first: every other section's references go to them.
  ParseSection(doc, "secret-agents", cfg.secret_agents, errors,
               [&](const std::string& n, const Json& j, SecretAgentConfig& a) {
                 Fields f(&j, "secret-agents." + n, errors);
                 ParseSecretAgent(f, a);
               });
  config_fields::SecretScope scope{&cfg.secret_agents, &fetch};
  config_fields::SecretScopeGuard guard(&scope);
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
  FetchKeySecrets(cfg, errors);
  if (size_t inline_secrets = CountInlineSecrets(cfg.document);
      inline_secrets > 0 && !cfg.service.redact_config_secrets) {
    cfg.warnings.push_back(
        "service.config-secrets: as-written: GET /v1/config shows the " +
        std::to_string(inline_secrets) +
        " secret(s) written in the file as they are (as ABS 3.6 does, and as the Kubernetes "
        "operator needs to compare what it applied); write them as references "
        "(password-path, file:, env:, secrets:) or set config-secrets: redacted");
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

}  // namespace absvc::service
