// The ABS configuration (aerospike-backup-service.yml): the document as read, and the
// validated, typed model the service runs from. The document (JSON, the same shape as
// the YAML) is the source of truth: the REST API edits it, ParseConfig validates the whole
// of it again, and SaveConfigFile writes it back. Validation is strict: unknown fields,
// wrong types, out-of-range values, missing references and conflicting slices are all
// reported, each naming its field.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "client/secret_agent.h"
#include "common/status.h"
#include "config/cron.h"
#include "storage/spec.h"

namespace absvc::service {

using Json = nlohmann::ordered_json;

// secret-agents.<name>, or an inline secret-agent: where secrets:<resource>:<key>
// references are fetched from.
using SecretAgentConfig = client::SecretAgentOptions;
// Fetches one secret; ParseConfig asks the agent over the network unless told otherwise.
using SecretFetcher =
    std::function<Result<std::string>(const SecretAgentConfig&, const client::SecretRef&)>;

struct HttpConfig {
  std::string address = "0.0.0.0";
  int port = 8080;
  std::string context_path = "/";
  int64_t timeout_ms = 5000;
  int64_t read_timeout_ms = 30000;
  int64_t write_timeout_ms = 60000;
  int64_t idle_timeout_ms = 120000;
  bool disabled = false;
  int64_t rate_tps = 1024;  // per client address; a token bucket of rate_size
  int64_t rate_size = 1024;
  std::vector<std::string> rate_white_list;  // IPs or CIDRs exempt from the limit
};

struct LoggerConfig {
  std::string level = "INFO";    // TRACE DEBUG INFO WARN ERROR
  std::string format = "PLAIN";  // PLAIN JSON
  bool stdout_writer = true;
  std::string file;  // file-writer.filename; empty = none
  int64_t file_max_size_mb = 100;
  int64_t file_max_backups = 3;
  int64_t file_max_age_days = 0;  // 0 = rotated files are not removed by age
  bool file_compress = false;
};

// service.https: the same listener settings as http (port 8443 by default) over TLS.
// The certificate and key files are read again when they change (see HttpsContext).
struct HttpsConfig {
  HttpConfig listener;
  std::string cert_file, key_file;
  std::string key_file_password;  // for an encrypted key
  // none: no client certificate is asked for; request: one is asked for and, when given,
  // must verify against client-ca-file; require-and-verify: one must be given and verify.
  std::string client_auth = "none";
  std::string client_ca_file;
  // crl-file: PEM certificate revocation lists of the client CA; a client certificate
  // they revoke is refused. Re-read when the file changes, as the certificates are.
  std::string crl_file;
  std::vector<std::string> cipher_suites;  // IANA names; empty: OpenSSL's defaults
  std::string min_version = "1.2";         // 1.2 or 1.3
};

struct ServiceConfig {
  HttpConfig http;
  std::optional<HttpsConfig> https;
  LoggerConfig logger;
  std::string timestamp_format;  // "", ISO, EU, US
  std::string schedule_timezone = "UTC";
  // memory-budget-mib (an abs extension): bytes held for data in transit across all jobs
  // (upload parts in flight, write buffers, restore batches and read chunks).
  int64_t memory_budget_mib = 256;
  // config-secrets (an abs extension): how GET /v1/config and its sections show secrets
  // written in the file. "as-written" (ABS 3.6 and the Kubernetes operator, which reads
  // the configuration back and compares it with what it applied) or "redacted" ("[secret]",
  // as ABS 3.7). Secrets never reach logs, metrics or the job history either way.
  bool redact_config_secrets = false;
};

// The listener whose settings (context-path, rate limits, timeouts) the API follows: http,
// unless it is disabled and https serves alone. Both share one context-path.
inline const HttpConfig& ApiListener(const ServiceConfig& s) {
  return s.http.disabled && s.https ? s.https->listener : s.http;
}

struct SeedNode {
  std::string host;
  int port = 3000;
  std::string tls_name;
};

struct ClusterTlsConfig {
  std::string ca_file, ca_path, cert_file, key_file, key_file_password, name, protocols,
      cipher_suite;
};

struct ClusterConfig {
  std::string label;
  std::vector<SeedNode> seeds;
  int64_t conn_timeout_ms = 30000;
  bool use_services_alternate = false;
  std::string user;
  std::string password;  // read from password-path when that is given
  std::string auth_mode = "INTERNAL";
  std::optional<ClusterTlsConfig> tls;
  int64_t max_parallel_scans = 0;  // 0 = unlimited
  std::vector<uint32_t> prefer_racks;
};

// "main (production)": the cluster's name with its label, as logs and errors show it.
inline std::string ClusterTitle(const std::string& name, const ClusterConfig& c) {
  return c.label.empty() ? name : name + " (" + c.label + ")";
}

// A storage block, parsed once into what the registry opens.
using StorageKind = storage::StorageKind;
using StorageConfig = storage::StorageSpec;

struct RetryPolicyConfig {
  int64_t base_timeout_ms = 60000;
  int64_t max_retries = 5;
  double multiplier = 1.5;
};

struct BackupPolicyConfig {
  int64_t parallel = 8;
  int64_t parallel_write = 0;  // 0 = parallel
  int64_t socket_timeout_ms = 600000;
  int64_t total_timeout_ms = 0;
  int64_t max_concurrent_nodes = 0;
  bool use_scan_compression = false;
  RetryPolicyConfig retry;
  int64_t records_per_second = 0;
  int64_t bandwidth_mib = 0;
  int64_t file_limit_mib = 250;
  std::string compression = "NONE";
  int64_t compression_level = 0;
  std::string encryption = "NONE";
  std::string key_file, key_env, key_secret;
  std::string key_pem;  // the key key-secret named, fetched from its Secret Agent
  bool no_records = false, no_indexes = false, no_udfs = false;
  int64_t retention_full = 0;          // 0 = keep all
  int64_t retention_incremental = -1;  // -1 = keep all
  bool sealed = false;
  bool concurrent_incremental = false;
  bool with_cluster_configuration = false;
  bool compact = false;
  std::string incr_mode = "differential";
};

struct RoutineConfig {
  CronSchedule interval_cron;
  std::optional<CronSchedule> incr_interval_cron;
  std::string source_cluster;
  std::string storage;
  std::string backup_policy;            // empty = defaults
  std::vector<std::string> namespaces;  // empty = every namespace of the cluster
  std::vector<std::string> set_list;
  std::vector<std::string> bin_list;
  std::string partition_list;  // auto-slice resolves to one
  // auto-slice: this instance backs up slice index of count (1-based count; index from the
  // configuration or an environment variable, so one file serves every replica).
  std::optional<std::pair<uint32_t, uint32_t>> auto_slice;  // (index, count)
  std::vector<std::string> node_list;
  std::vector<uint32_t> rack_list;
  std::string filter_exp;         // base64 packed expression
  std::string secret_agent;       // the agent that holds its policy's key-secret
  std::string schedule_timezone;  // "" = the service's
  std::string incr_mode;          // "" = the policy's
  bool disabled = false;
};

struct Config {
  Json document;  // as given (secrets included), normalized to JSON
  ServiceConfig service;
  std::map<std::string, ClusterConfig> clusters;
  std::map<std::string, StorageConfig> storage;
  std::map<std::string, BackupPolicyConfig> policies;
  std::map<std::string, RoutineConfig> routines;
  std::map<std::string, SecretAgentConfig> secret_agents;
  // Settings read with a meaning other than their spelling says: earlier ABS releases'
  // names and places (config/legacy.h), and settings abs accepts but does not act on.
  // Logged whenever the configuration is loaded or applied.
  std::vector<std::string> warnings;

  const BackupPolicyConfig& PolicyOf(const RoutineConfig& r) const;
};

struct RestorePolicyConfig {
  int64_t parallel = 8;
  bool no_records = false, no_indexes = false, no_udfs = false;
  bool no_generation = false, replace = false, unique = false;
  int64_t extra_ttl = 0;
  std::string namespace_source, namespace_destination;
  std::vector<std::string> set_list, bin_list;
  int64_t tps = 0;
  int64_t bandwidth_mib = 0;
  int64_t batch_size = 128;
  int64_t max_async_batches = 128;
  bool disable_batch_writes = false;
  std::string compression;  // "" = as metadata.yaml says
  std::string encryption;   // "" = as metadata.yaml says (a key is still needed)
  std::string key_file, key_env;
  std::string key_pem;  // the key key-secret named, fetched from the request's agent
  // abs: restore what is intact from a damaged or unfinished backup instead of refusing.
  bool salvage = false;
};

// POST /v1/restore/{full,incremental,timestamp} bodies.
struct RestoreRequest {
  std::string backup_data_path;  // relative to the source storage's path
  std::optional<StorageConfig> source;
  std::string source_name;
  std::optional<ClusterConfig> destination;
  std::string destination_name;
  RestorePolicyConfig policy;
  std::string routine;  // timestamp restores
  int64_t time_ms = 0;
  bool disable_reordering = false;
  std::vector<std::string> warnings;  // as Config::warnings
};

// Strict, like the configuration; the error names every bad field.
// Secret Agent references in it go to the request's secret-agent(-name) or `agents`.
Result<RestoreRequest> ParseRestoreRequest(
    const Json& body, bool timestamp, const std::map<std::string, SecretAgentConfig>& agents = {},
    const SecretFetcher& fetch = SecretFetcher(client::FetchSecret));

// Validates the whole document; the error lists every problem found, each with its field
// path ("backup-routines.daily.interval-cron: ...").
// Secret Agent references are fetched with `fetch`.
Result<Config> ParseConfig(const Json& document,
                           const SecretFetcher& fetch = SecretFetcher(client::FetchSecret));

// YAML text to the JSON document, with YAML 1.2 core-schema scalars (quoted scalars stay
// strings). Syntax errors give the line and column.
Result<Json> YamlToJson(std::string_view yaml, const std::string& source_name = "config");
std::string JsonToYaml(const Json& document);

// Deepest nesting of arrays and objects in JSON text, found without parsing it: documents
// nested deeper than any configuration or request are refused before parsing, since
// copying and walking such a document recurses per level.
size_t JsonNestingDepth(std::string_view text);

// Documents (configuration files, YAML or JSON) nest at most this deep.
inline constexpr size_t kMaxYamlDepth = 64;

// A configuration file is at most this large; abs refuses a larger one.
inline constexpr size_t kMaxConfigFileBytes = 16 << 20;
Result<Config> LoadConfigFile(const std::string& path);
// Writes atomically (temp file + rename), 0600: the file holds secrets. The file it
// replaces is kept as <path>.bak (the previous configuration, to undo an edit with).
Status SaveConfigFile(const std::string& path, const Json& document);

inline constexpr const char* kRedacted = "[secret]";
// The document with every secret replaced by "[secret]".
Json RedactSecrets(const Json& document);
// `incoming` with each "[secret]" placeholder replaced by the value `stored` has at the
// same place, so a client can PUT back what it GOT.
Json KeepStoredSecrets(const Json& incoming, const Json& stored);
// Secret fields whose value is the secret itself, not a reference to where it lives
// (file:, env:, env-b64:, secrets:).
size_t CountInlineSecrets(const Json& document);

// Entity names become path segments in storage and URLs.
Status ValidateEntityName(const std::string& name);

}  // namespace absvc::service
