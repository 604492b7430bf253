// Configuration files and restore requests written for ABS, read by abs: every setting of
// ABS 3.x's schema with ABS's meaning (tests/data/abs-configs/abs3-every-setting.yml),
// every ABS 2.x setting that 3.x renamed, moved or dropped read as its replacement with a
// warning naming it (abs2-every-setting.yml), and the conflicts that have no meaning
// refused with an error that says what to write.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "config/legacy.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;

std::string ReadFixture(const std::string& name, const fs::path& dir) {
  std::ifstream in(std::string(ABS_TESTDATA_DIR) + "/abs-configs/" + name);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (size_t at; (at = text.find("@DIR@")) != std::string::npos;)
    text.replace(at, 5, dir.string());
  return text;
}

// Secret Agent references resolve to "<resource>/<key>".
SecretFetcher FakeAgent() {
  return [](const SecretAgentConfig&, const client::SecretRef& ref) -> Result<std::string> {
    return ref.resource + "/" + ref.key;
  };
}

bool HasWarning(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& w : warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// Whether `doc` holds `path`: dot-separated keys, '*' for every entry of a map, "[]" for
// every element of a list.
bool Holds(const Json& doc, const std::string& path) {
  auto dot = path.find('.');
  std::string head = path.substr(0, dot);
  std::string rest = dot == std::string::npos ? "" : path.substr(dot + 1);
  auto descend = [&](const Json& next) { return rest.empty() || Holds(next, rest); };
  if (head == "*" || head == "[]") {
    for (const auto& v : doc)
      if (descend(v)) return true;
    return false;
  }
  return doc.is_object() && doc.contains(head) && descend(doc[head]);
}

class AbsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("abs-configs-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "password.txt") << "from-a-file\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(AbsConfigTest, EverySettingOfAbs3IsReadWithAbsMeaning) {
  auto doc = YamlToJson(ReadFixture("abs3-every-setting.yml", dir_));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  // The fixture uses every setting of ABS 3.x's schema (this list is the schema's, in
  // abs's words).
  for (const char* path : {"service.http.address",
                           "service.http.port",
                           "service.http.context-path",
                           "service.http.timeout",
                           "service.http.read-timeout",
                           "service.http.write-timeout",
                           "service.http.idle-timeout",
                           "service.http.disabled",
                           "service.http.rate.tps",
                           "service.http.rate.size",
                           "service.http.rate.white-list",
                           "service.https.address",
                           "service.https.port",
                           "service.https.context-path",
                           "service.https.timeout",
                           "service.https.rate.white-list",
                           "service.https.disabled",
                           "service.https.cert-file",
                           "service.https.key-file",
                           "service.https.key-file-password",
                           "service.https.client-auth",
                           "service.https.client-ca-file",
                           "service.https.min-version",
                           "service.https.cipher-suites",
                           "service.logger.level",
                           "service.logger.format",
                           "service.logger.stdout-writer",
                           "service.logger.file-writer.filename",
                           "service.logger.file-writer.maxsize",
                           "service.logger.file-writer.maxage",
                           "service.logger.file-writer.maxbackups",
                           "service.logger.file-writer.compress",
                           "service.backup.timestamp-format",
                           "service.backup.schedule-timezone",
                           "secret-agents.*.connection-type",
                           "secret-agents.*.address",
                           "secret-agents.*.timeout",
                           "secret-agents.*.is-base64",
                           "secret-agents.*.ca-file",
                           "secret-agents.*.cert-file",
                           "secret-agents.*.key-file",
                           "secret-agents.*.name",
                           "aerospike-clusters.*.label",
                           "aerospike-clusters.*.seed-nodes.[].host-name",
                           "aerospike-clusters.*.seed-nodes.[].port",
                           "aerospike-clusters.*.seed-nodes.[].tls-name",
                           "aerospike-clusters.*.conn-timeout",
                           "aerospike-clusters.*.use-services-alternate",
                           "aerospike-clusters.*.max-parallel-scans",
                           "aerospike-clusters.*.prefer-racks",
                           "aerospike-clusters.*.credentials.user",
                           "aerospike-clusters.*.credentials.password",
                           "aerospike-clusters.*.credentials.password-path",
                           "aerospike-clusters.*.credentials.auth-mode",
                           "aerospike-clusters.*.credentials.secret-agent-name",
                           "aerospike-clusters.*.tls.ca-file",
                           "aerospike-clusters.*.tls.ca-path",
                           "aerospike-clusters.*.tls.cert-file",
                           "aerospike-clusters.*.tls.key-file",
                           "aerospike-clusters.*.tls.key-file-password",
                           "aerospike-clusters.*.tls.name",
                           "aerospike-clusters.*.tls.protocols",
                           "aerospike-clusters.*.tls.cipher-suite",
                           "storage.*.local-storage.path",
                           "storage.*.local-storage.min-part-size",
                           "storage.*.s3-storage.bucket",
                           "storage.*.s3-storage.path",
                           "storage.*.s3-storage.s3-region",
                           "storage.*.s3-storage.s3-profile",
                           "storage.*.s3-storage.s3-endpoint-override",
                           "storage.*.s3-storage.s3-log-level",
                           "storage.*.s3-storage.min-part-size",
                           "storage.*.s3-storage.max-async-connections",
                           "storage.*.s3-storage.access-key-id",
                           "storage.*.s3-storage.secret-access-key",
                           "storage.*.s3-storage.secret-agent-name",
                           "storage.*.s3-storage.storage-class.data",
                           "storage.*.s3-storage.storage-class.metadata",
                           "storage.*.gcp-storage.bucket-name",
                           "storage.*.gcp-storage.path",
                           "storage.*.gcp-storage.key-file-path",
                           "storage.*.gcp-storage.key",
                           "storage.*.gcp-storage.endpoint",
                           "storage.*.gcp-storage.min-part-size",
                           "storage.*.gcp-storage.secret-agent",
                           "storage.*.gcp-storage.storage-class.data",
                           "storage.*.azure-storage.endpoint",
                           "storage.*.azure-storage.container-name",
                           "storage.*.azure-storage.path",
                           "storage.*.azure-storage.account-name",
                           "storage.*.azure-storage.account-key",
                           "storage.*.azure-storage.tenant-id",
                           "storage.*.azure-storage.client-id",
                           "storage.*.azure-storage.client-secret",
                           "storage.*.azure-storage.min-part-size",
                           "storage.*.azure-storage.storage-class.data",
                           "storage.*.azure-storage.storage-class.metadata",
                           "backup-policies.*.parallel",
                           "backup-policies.*.parallel-write",
                           "backup-policies.*.socket-timeout",
                           "backup-policies.*.total-timeout",
                           "backup-policies.*.max-concurrent-nodes",
                           "backup-policies.*.use-scan-compression",
                           "backup-policies.*.retry-policy.base-timeout",
                           "backup-policies.*.retry-policy.multiplier",
                           "backup-policies.*.retry-policy.max-retries",
                           "backup-policies.*.records-per-second",
                           "backup-policies.*.bandwidth",
                           "backup-policies.*.file-limit",
                           "backup-policies.*.compression.mode",
                           "backup-policies.*.compression.level",
                           "backup-policies.*.encryption.mode",
                           "backup-policies.*.encryption.key-file",
                           "backup-policies.*.encryption.key-env",
                           "backup-policies.*.encryption.key-secret",
                           "backup-policies.*.no-records",
                           "backup-policies.*.no-indexes",
                           "backup-policies.*.no-udfs",
                           "backup-policies.*.with-cluster-configuration",
                           "backup-policies.*.retention.full",
                           "backup-policies.*.retention.incremental",
                           "backup-policies.*.sealed",
                           "backup-policies.*.concurrent-incremental",
                           "backup-policies.*.compact",
                           "backup-routines.*.interval-cron",
                           "backup-routines.*.incr-interval-cron",
                           "backup-routines.*.source-cluster",
                           "backup-routines.*.storage",
                           "backup-routines.*.backup-policy",
                           "backup-routines.*.secret-agent",
                           "backup-routines.*.namespaces",
                           "backup-routines.*.set-list",
                           "backup-routines.*.bin-list",
                           "backup-routines.*.partition-list",
                           "backup-routines.*.node-list",
                           "backup-routines.*.rack-list",
                           "backup-routines.*.filter-exp",
                           "backup-routines.*.schedule-timezone",
                           "backup-routines.*.incr-mode",
                           "backup-routines.*.disabled"}) {
    EXPECT_TRUE(Holds(*doc, path)) << path << " is not in the fixture";
  }

  auto cfg = ParseConfig(*doc, FakeAgent());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  // Zero values with ABS's meaning.
  EXPECT_EQ(cfg->service.logger.file_max_size_mb, 100) << "maxsize 0 is the default";
  EXPECT_EQ(cfg->service.logger.file_max_backups, 0) << "maxbackups 0 keeps them all";
  EXPECT_EQ(cfg->service.logger.level, "INFO") << "blanks around a value are not part of it";
  EXPECT_EQ(cfg->service.schedule_timezone, "UTC");
  EXPECT_EQ(cfg->storage.at("s3").max_async_connections, 16) << "0 is the default";
  EXPECT_EQ(cfg->storage.at("s3").min_part_size, 50000000) << "digits grouped with '_'";
  const auto& p = cfg->policies.at("everything");
  EXPECT_EQ(p.bandwidth_mib, 0);
  EXPECT_EQ(p.records_per_second, 0);
  EXPECT_EQ(p.file_limit_mib, 0);
  EXPECT_EQ(p.retention_full, 0) << "retention without full keeps every full";
  EXPECT_EQ(p.retention_incremental, 0);
  // Credentials: from the agent, from a file, and none at all.
  EXPECT_EQ(cfg->clusters.at("main").password, "db/password");
  EXPECT_EQ(cfg->clusters.at("main").label, "production");
  EXPECT_EQ(cfg->clusters.at("by-path").password, "from-a-file");
  EXPECT_TRUE(cfg->clusters.at("anonymous").user.empty());
  EXPECT_EQ(cfg->storage.at("s3-agent").s3_secret_access_key, "s3/key");
  EXPECT_EQ(cfg->policies.at("secret-key").key_pem, "keys/backup");
  EXPECT_EQ(cfg->secret_agents.at("vault").port, 3005);
  EXPECT_EQ(cfg->secret_agents.at("vault").tls_name, "agent.internal");
  // The only warnings: EXTERNAL without tls sends the password in clear text, as in ABS,
  // and the API shows the secrets the file holds as written.
  ASSERT_EQ(cfg->warnings.size(), 2u) << ::testing::PrintToString(cfg->warnings);
  EXPECT_TRUE(HasWarning(cfg->warnings, "aerospike-clusters.by-path.credentials.auth-mode"));
  EXPECT_TRUE(HasWarning(cfg->warnings,
                         "service.config-secrets: as-written: GET /v1/config "
                         "shows the 7 secret(s) written in the file"))
      << ::testing::PrintToString(cfg->warnings);
  (*doc)["service"]["config-secrets"] = "redacted";
  cfg = ParseConfig(*doc, FakeAgent());
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->warnings.size(), 1u) << ::testing::PrintToString(cfg->warnings);
}

// ABS bounds these counts only from below: a file with more than abs uses still loads,
// read as abs's most, with a warning each.
TEST_F(AbsConfigTest, CountsAboveWhatAbsUsesLoadAsItsMostWithAWarning) {
  auto doc = YamlToJson(ReadFixture("abs3-every-setting.yml", dir_));
  ASSERT_TRUE(doc.ok());
  (*doc)["backup-policies"]["everything"]["parallel"] = 5000;
  (*doc)["backup-policies"]["everything"]["retry-policy"]["max-retries"] = 100000;
  (*doc)["backup-policies"]["everything"]["retry-policy"]["multiplier"] = 1000;
  (*doc)["aerospike-clusters"]["main"]["max-parallel-scans"] = 1 << 21;
  auto cfg = ParseConfig(*doc, FakeAgent());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const auto& p = cfg->policies.at("everything");
  EXPECT_EQ(p.parallel, 1024);
  EXPECT_EQ(p.retry.max_retries, 1000);
  EXPECT_EQ(p.retry.multiplier, 100.0);
  EXPECT_EQ(cfg->clusters.at("main").max_parallel_scans, 1 << 20);
  EXPECT_TRUE(HasWarning(cfg->warnings,
                         "backup-policies.everything.parallel: 5000 is read as 1024, the most abs "
                         "uses"));
  EXPECT_TRUE(HasWarning(cfg->warnings, "aerospike-clusters.main.max-parallel-scans: 2097152"));
  // Below ABS's own minimum is still an error.
  (*doc)["backup-policies"]["everything"]["parallel"] = 0;
  EXPECT_FALSE(ParseConfig(*doc, FakeAgent()).ok());
}

TEST_F(AbsConfigTest, EveryAbs2SettingIsReadAsItsReplacementWithAWarning) {
  auto doc = YamlToJson(ReadFixture("abs2-every-setting.yml", dir_));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  auto cfg = ParseConfig(*doc, FakeAgent());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->document, *doc) << "the document stays as written";

  for (const char* w :
       {"(top level).secret-agent: read as secret-agents",
        "storage.local.type: ABS 2.x's flat storage read as local-storage",
        "storage.s3.type: ABS 2.x's flat aws-s3 storage read as s3-storage",
        "backup-policies.keep.remove-files: KeepAll keeps every backup",
        "backup-policies.keep.max-retries: ABS 2.x's max-retries and retry-delay",
        "backup-policies.incremental-only.remove-files: RemoveIncremental read as "
        "retention {incremental: 0}",
        "backup-policies.latest.remove-files: RemoveAll read as retention {full: 1, "
        "incremental: 0}",
        "backup-routines.routine1.namespaces: missing: read as []",
        "backup-routines.routine1.prefer-racks: read as "
        "aerospike-clusters.cluster.prefer-racks"}) {
    EXPECT_TRUE(HasWarning(cfg->warnings, w)) << w << "\n"
                                              << ::testing::PrintToString(cfg->warnings);
  }
  EXPECT_EQ(cfg->secret_agents.at("agent").tls_ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(cfg->storage.at("local").kind, StorageKind::kLocal);
  EXPECT_EQ(cfg->storage.at("local").path, (dir_ / "backups").string());
  const auto& s3 = cfg->storage.at("s3");
  EXPECT_EQ(s3.kind, StorageKind::kS3);
  EXPECT_EQ(s3.bucket, "as-backup-bucket");
  EXPECT_EQ(s3.path, "storage1");
  EXPECT_EQ(s3.s3_region, "eu-central-1");
  EXPECT_EQ(s3.s3_endpoint_override, "http://127.0.0.1:9000");
  EXPECT_EQ(s3.max_async_connections, 32);
  EXPECT_EQ(s3.min_part_size, StorageConfig().min_part_size) << "0 meant the default";
  EXPECT_EQ(cfg->policies.at("keep").retry.max_retries, 3);
  EXPECT_EQ(cfg->policies.at("keep").retry.base_timeout_ms, 10000);
  EXPECT_EQ(cfg->policies.at("keep").retry.multiplier, 1.0);
  EXPECT_EQ(cfg->policies.at("keep").retention_full, 0);
  EXPECT_EQ(cfg->policies.at("incremental-only").retention_incremental, 0);
  EXPECT_EQ(cfg->policies.at("latest").retention_full, 1);
  EXPECT_EQ(cfg->policies.at("latest").retry.max_retries, 3) << "2.x's default";
  EXPECT_EQ(cfg->policies.at("latest").retry.base_timeout_ms, 5000);
  EXPECT_TRUE(cfg->routines.at("routine1").namespaces.empty());
  EXPECT_EQ(cfg->clusters.at("cluster").prefer_racks, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(cfg->clusters.at("cluster").auth_mode, "EXTERNAL_INSECURE");
}

TEST_F(AbsConfigTest, LegacySettingsWithoutOneMeaningAreErrorsThatSayWhatToWrite) {
  auto base = YamlToJson(ReadFixture("abs2-every-setting.yml", dir_));
  ASSERT_TRUE(base.ok());
  auto error = [](const Json& d) {
    auto cfg = ParseConfig(d, FakeAgent());
    return cfg.ok() ? std::string("accepted") : cfg.status().message();
  };
  Json d = *base;
  d["secret-agents"] = d["secret-agent"];
  EXPECT_NE(error(d).find("(top level).secret-agent: give secret-agents or its older name "
                          "secret-agent, not both"),
            std::string::npos)
      << error(d);
  d = *base;
  d["backup-policies"]["keep"]["retention"] = {{"full", 2}};
  EXPECT_NE(error(d).find("backup-policies.keep.remove-files: give retention or ABS 2.x's "
                          "remove-files, not both"),
            std::string::npos);
  d = *base;
  d["backup-policies"]["keep"]["remove-files"] = "RemoveSome";
  EXPECT_NE(error(d).find("ABS 2.x's values are KeepAll, RemoveIncremental and RemoveAll, got "
                          "'RemoveSome'"),
            std::string::npos);
  d = *base;
  d["backup-policies"]["keep"]["retry-policy"] = {{"max-retries", 1}};
  EXPECT_NE(error(d).find("give retry-policy or ABS 2.x's max-retries and retry-delay"),
            std::string::npos);
  d = *base;
  d["aerospike-clusters"]["cluster"]["prefer-racks"] = {3};
  EXPECT_NE(error(d).find("backup-routines.routine1.prefer-racks: differs from "
                          "aerospike-clusters.cluster.prefer-racks"),
            std::string::npos);
  d = *base;
  d["storage"]["s3"]["path"] = "as-backup-bucket/storage1";
  EXPECT_NE(error(d).find("storage.s3.path: ABS 2.x's aws-s3 path is s3://<bucket>[/<prefix>]"),
            std::string::npos);
  d = *base;
  d["storage"]["local"]["type"] = "ftp";
  EXPECT_NE(error(d).find("storage.local.type: ABS 2.x's storage types are local and aws-s3"),
            std::string::npos);
  // What is left of a flat storage that 2.x did not have is an unknown field, as always.
  d = *base;
  d["storage"]["local"]["colour"] = "red";
  EXPECT_NE(error(d).find("storage.local.colour: unknown field"), std::string::npos) << error(d);
}

TEST_F(AbsConfigTest, Abs2RestoreRequestsAreReadWithTheirMeaningAndAWarning) {
  Json body = {
      {"destination", {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 3000}}}}}},
      {"source", {{"type", "local"}, {"path", "/backups/r1/backup/1700000000000/data/test"}}},
      {"policy",
       {{"parallel", 4},
        {"timeout", 1000},
        {"bandwidth", 10485760},
        {"retry-policy", {{"baseTimeout", 1000}, {"maxRetries", 2}, {"multiplier", 2}}}}}};
  auto req = ParseRestoreRequest(body, false, {}, FakeAgent());
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->backup_data_path, "backups/r1/backup/1700000000000/data/test");
  ASSERT_TRUE(req->source);
  EXPECT_EQ(req->source->path, "/");
  EXPECT_EQ(req->policy.bandwidth_mib, 10) << "10485760 bytes/s is 10 MiB/s";
  for (const char* w :
       {"source.path: ABS 2.x's backup location", "policy.timeout: read as total-timeout",
        "policy.bandwidth: 10485760 is bytes/s",
        "policy.retry-policy.baseTimeout: read as base-timeout",
        "policy.retry-policy.maxRetries: read as max-retries"}) {
    EXPECT_TRUE(HasWarning(req->warnings, w)) << w << "\n"
                                              << ::testing::PrintToString(req->warnings);
  }
  // A 3.x body: bandwidth in MiB/s as written, no warning about it.
  Json now = {{"backup-data-path", "r1/backup/1700000000000/data/test"},
              {"source-name", "s"},
              {"destination-name", "c"},
              {"policy", {{"bandwidth", 50}}}};
  req = ParseRestoreRequest(now, false, {}, FakeAgent());
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->policy.bandwidth_mib, 50);
  EXPECT_TRUE(req->warnings.empty()) << ::testing::PrintToString(req->warnings);
  // Both names at once: refused, naming both.
  now["policy"] = {{"timeout", 1}, {"total-timeout", 2}};
  req = ParseRestoreRequest(now, false, {}, FakeAgent());
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.status().message().find("give total-timeout or its older name timeout"),
            std::string::npos);
}

}  // namespace
}  // namespace absvc::service
