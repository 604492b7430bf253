// ABS's clients against absd. The Aerospike Kubernetes Operator's calls are replayed in
// the order its controllers make them (AerospikeBackupService, then AerospikeBackup, then
// AerospikeRestore, then the deletions), and each check is the operator's own: the
// configuration it applied comes back deep-equal from GET /v1/config (its reload loop
// converges only then), the status codes it accepts, a restore's job id as a bare
// integer, backups newest last with keys it can split. Every JSON answer is also checked
// against ABS's answer types (tests/data/abs-contract/schemas.json: ABS's fields and
// types required, abs's extra fields allowed).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absd_harness.h"
#include "json_schema.h"
#include "storage/registry.h"
#include "wire/info.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;
using namespace harness;

constexpr char kUser[] = "admin";
// An inline password, as the operator's samples write it: it must come back as written
// (or the reload never converges) and never reach a log or the job history.
constexpr char kPassword[] = "op-s3cret-9f2c";
constexpr char kRoutine[] = "aerospike-backup-test-routine";
constexpr char kCluster[] = "aerospike-backup-test-cluster";

// Go's reflect.DeepEqual on decoded maps, as the operator compares: key order is not
// part of a JSON object.
bool DeepEqual(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

class AbsContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("abs-contract-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    testing::DevClusterArgs args;
    args.extra = {"--user", kUser, "--password", kPassword};
    auto cluster = testing::TestCluster::StartDevCluster(args);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(cluster).value();
    auto options = cluster_->Options();
    options.user = kUser;
    options.password = kPassword;
    auto client = client::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
    std::ifstream in(std::string(ABS_SOURCE_DIR) + "/tests/data/abs-contract/schemas.json");
    schemas_ = Json::parse(in);
  }
  void TearDown() override {
    absd_.reset();
    client_.reset();
    cluster_.reset();
    fs::remove_all(dir_);
  }

  // What the operator's AerospikeBackupService puts in the ConfigMap: the service, the
  // policies and the storage, as YAML (its keys sorted, as it writes them).
  std::string ServiceYaml() const {
    return "backup-policies:\n"
           "  test-policy:\n"
           "    parallel: 3\n"
           "service:\n"
           "  http:\n"
           "    address: 127.0.0.1\n"
           "    port: " +
           std::to_string(port_) +
           "\n"
           "  logger:\n"
           "    file-writer:\n"
           "      filename: " +
           (dir_ / "log" / "absd.log").string() +
           "\n"
           "    level: INFO\n"
           "storage:\n"
           "  local:\n"
           "    local-storage:\n"
           "      path: " +
           (dir_ / "storage").string() + "\n";
  }
  // The same, as the operator reads it back from the ConfigMap to compare.
  Json ServiceDoc() const {
    return {{"backup-policies", {{"test-policy", {{"parallel", 3}}}}},
            {"service",
             {{"http", {{"address", "127.0.0.1"}, {"port", port_}}},
              {"logger",
               {{"file-writer", {{"filename", (dir_ / "log" / "absd.log").string()}}},
                {"level", "INFO"}}}}},
            {"storage", {{"local", {{"local-storage", {{"path", (dir_ / "storage").string()}}}}}}}};
  }
  Json ClusterSpec() const {
    Json seeds = Json::array();
    for (const auto& h : cluster_->seeds())
      seeds.push_back({{"host-name", h.name}, {"port", h.port}});
    return {{"credentials", {{"password", kPassword}, {"user", kUser}}}, {"seed-nodes", seeds}};
  }
  // What the operator's AerospikeBackup adds: its cluster and routine.
  std::string BackupYaml() const {
    std::string yaml = "aerospike-clusters:\n  " + std::string(kCluster) +
                       ":\n    credentials:\n      password: " + kPassword +
                       "\n      user: " + kUser + "\n    seed-nodes:\n";
    for (const auto& h : cluster_->seeds())
      yaml += "    - host-name: " + h.name + "\n      port: " + std::to_string(h.port) + "\n";
    yaml += ServiceYaml();
    return yaml + "backup-routines:\n  " + kRoutine +
           ":\n    backup-policy: test-policy\n    interval-cron: '@yearly'\n"
           "    incr-interval-cron: '@yearly'\n    namespaces:\n    - test\n"
           "    source-cluster: " +
           kCluster + "\n    storage: local\n";
  }
  Json BackupDoc() const {
    Json d = ServiceDoc();
    d["aerospike-clusters"] = {{kCluster, ClusterSpec()}};
    d["backup-routines"] = {{kRoutine,
                             {{"backup-policy", "test-policy"},
                              {"interval-cron", "@yearly"},
                              {"incr-interval-cron", "@yearly"},
                              {"namespaces", {"test"}},
                              {"source-cluster", kCluster},
                              {"storage", "local"}}}};
    return d;
  }

  void WriteConfigMap(const std::string& yaml) { std::ofstream(dir_ / "config.yml") << yaml; }

  // The answer must decode as ABS's type `type`.
  void ExpectAbsType(const std::string& type, const Json& value) {
    std::vector<std::string> errors;
    testing_schema::CheckSchema({{"$ref", "#/definitions/" + type}}, value, schemas_, type, errors);
    for (const auto& e : errors)
      ADD_FAILURE() << e << "\n  in " << value.dump().substr(0, 400);
  }

  httplib::Result Call(const std::string& method, const std::string& path,
                       const std::string& body = "") {
    auto& http = *absd_->http;
    if (method == "GET") return http.Get(path.c_str());
    return http.Post(path.c_str(), body, "application/json");
  }
  Json GetJson(const std::string& path, const std::string& type) {
    auto r = Call("GET", path);
    EXPECT_TRUE(r && r->status == 200) << path << ": " << (r ? r->body : "no answer");
    if (!r || r->status != 200) return nullptr;
    Json j = Json::parse(r->body);
    ExpectAbsType(type, j);
    return j;
  }
  // The operator's reconcile: GET /v1/config deep-equal to the ConfigMap, else apply and
  // compare again. Returns whether an apply was needed.
  bool Reconcile(const Json& applied) {
    Json got = GetJson("/v1/config", "Config");
    if (DeepEqual(got, applied)) return false;
    auto r = Call("POST", "/v1/config/apply");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    got = GetJson("/v1/config", "Config");
    EXPECT_TRUE(DeepEqual(got, applied)) << "the operator's reload would never converge:\n  "
                                         << got.dump() << "\n  " << applied.dump();
    return true;
  }
  Json Backups(bool incremental) {
    return GetJson(
        std::string("/v1/backups/") + (incremental ? "incremental/" : "full/") + kRoutine,
        "BackupList");
  }
  Json WaitBackups(bool incremental, size_t n) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    Json list;
    while (std::chrono::steady_clock::now() < end) {
      list = Backups(incremental);
      if (list.is_array() && list.size() >= n && !absd_->BackupRunning(kRoutine)) return list;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no " << n << " backups listed: " << list.dump();
    return list;
  }
  // POST /v1/restore/<kind>: 202 with the job id as a bare integer, then polled to the end
  // as the operator polls it.
  Json Restore(const std::string& kind, const Json& body) {
    auto r = Call("POST", "/v1/restore/" + kind, body.dump());
    EXPECT_TRUE(r && r->status == 202) << kind << ": " << (r ? r->body : "no answer");
    if (!r || r->status != 202) return nullptr;
    Json id = Json::parse(r->body);
    ExpectAbsType("RestoreJobId", id);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    Json status;
    while (std::chrono::steady_clock::now() < end) {
      status =
          GetJson("/v1/restore/status/" + std::to_string(id.get<int64_t>()), "RestoreJobStatus");
      if (status.is_object() && status["status"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    status["id"] = id;
    return status;
  }

  fs::path dir_;
  int port_ = testing::FreeLocalPort();
  std::unique_ptr<testing::TestCluster> cluster_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<AbsdProcess> absd_;
  Json schemas_;
};

TEST_F(AbsContractTest, TheKubernetesOperatorsCallsInItsOrder) {
  ASSERT_TRUE(Load(*client_, 2000, "v1").ok());

  // AerospikeBackupService: the ConfigMap, the Deployment, then its config check.
  WriteConfigMap(ServiceYaml());
  absd_ = std::make_unique<AbsdProcess>(dir_ / "config.yml", (dir_ / "state").string(), port_);
  ASSERT_GT(absd_->Start(), 0);
  ASSERT_TRUE(absd_->WaitUp(std::chrono::seconds(10)));
  EXPECT_FALSE(Reconcile(ServiceDoc())) << "the file absd started with is what it serves";
  ExpectAbsType("Version", GetJson("/version", "Version"));

  // AerospikeBackup: its cluster (with an inline password) and routine merged into the
  // ConfigMap, then the reload; a second reconcile finds nothing to do.
  WriteConfigMap(BackupYaml());
  EXPECT_TRUE(Reconcile(BackupDoc()));
  EXPECT_FALSE(Reconcile(BackupDoc()));
  Json config = GetJson("/v1/config", "Config");
  EXPECT_TRUE(DeepEqual(config["aerospike-clusters"][kCluster], ClusterSpec()));
  EXPECT_TRUE(
      DeepEqual(config["backup-routines"][kRoutine], BackupDoc()["backup-routines"][kRoutine]));

  // On-demand backups: ABS 3.5 and later, then the older schedule endpoint.
  auto r = Call("POST", std::string("/v1/backups/full/") + kRoutine);
  ASSERT_TRUE(r && r->status == 202) << (r ? r->body : "no answer");
  WaitBackups(false, 1);
  r = Call("POST", std::string("/v1/backups/schedule/") + kRoutine);
  ASSERT_TRUE(r && r->status == 202) << (r ? r->body : "no answer");
  Json fulls = WaitBackups(false, 2);
  ASSERT_EQ(fulls.size(), 2u);
  EXPECT_LE(fulls[0]["timestamp"].get<int64_t>(), fulls[1]["timestamp"].get<int64_t>())
      << "the operator takes the last entry as the newest";
  const Json& newest = fulls.back();
  EXPECT_GT(newest["record-count"].get<int64_t>(), 0);
  EXPECT_GT(newest["byte-count"].get<int64_t>(), 0);
  EXPECT_TRUE(DeepEqual(newest["storage"], BackupDoc()["storage"]["local"])) << newest.dump();
  // The operator's timestamp restore test splits the key: <routine>/backup/<ts>/data/<ns>.
  const std::string key = newest["key"];
  auto parts = wire::SplitList(key, '/');
  ASSERT_GE(parts.size(), 5u) << newest["key"];
  EXPECT_EQ(std::string(parts[parts.size() - 5]), kRoutine);
  EXPECT_EQ(std::stoll(std::string(parts[parts.size() - 3])), newest["timestamp"].get<int64_t>());

  ASSERT_TRUE(Load(*client_, 500, "v2").ok());
  r = Call("POST", std::string("/v1/backups/incremental/") + kRoutine + "?delay=1");
  ASSERT_TRUE(r && r->status == 202) << (r ? r->body : "no answer");
  Json incrementals = WaitBackups(true, 1);
  ASSERT_EQ(incrementals.size(), 1u);
  EXPECT_EQ(incrementals[0]["record-count"], 500);
  GetJson("/v1/backups/full", "BackupsByRoutine");
  GetJson("/v1/backups/incremental", "BackupsByRoutine");
  GetJson(std::string("/v1/backups/currentBackup/") + kRoutine, "RoutineState");

  // AerospikeRestore: full into an emptied set, then incremental, then by time; each
  // body is the CR's spec.config as JSON.
  ASSERT_TRUE(client_->Truncate("test", "").ok());
  const auto emptied = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (Count(*client_, "").first > 0 && std::chrono::steady_clock::now() < emptied)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Json spec = {{"destination", ClusterSpec()},
               {"policy", {{"parallel", 3}, {"no-generation", true}, {"no-indexes", true}}},
               {"source", BackupDoc()["storage"]["local"]},
               {"backup-data-path", newest["key"]}};
  Json full = Restore("full", spec);
  EXPECT_EQ(full["status"], "success") << full.dump();
  EXPECT_GT(full["inserted-records"].get<int64_t>(), 0) << full.dump();
  EXPECT_EQ(full.value("error", ""), "");
  spec["backup-data-path"] = incrementals[0]["key"];
  EXPECT_EQ(Restore("incremental", spec)["status"], "success");
  Json by_time = {{"destination", ClusterSpec()},
                  {"routine", kRoutine},
                  {"time", incrementals[0]["finished-timestamp"].get<int64_t>() + 1}};
  Json timed = Restore("timestamp", by_time);
  EXPECT_EQ(timed["status"], "success") << timed.dump();
  EXPECT_EQ(Count(*client_, "v2").second, 500u);
  GetJson("/v1/restore/jobs", "RestoreJobs");

  // A request naming what does not exist is final for the operator: 400, not retried.
  r = Call("POST", "/v1/restore/full",
           Json{{"destination-name", "nope"}, {"source-name", "local"}, {"backup-data-path", "x"}}
               .dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;

  // Deleting the AerospikeRestore cancels its job whatever its state: 202 (or 404).
  r = Call("POST", "/v1/restore/cancel/" + std::to_string(full["id"].get<int64_t>()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  r = Call("POST", "/v1/restore/cancel/1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;

  // Deleting the AerospikeBackup: its cluster and routine leave the ConfigMap, and the
  // sections it emptied are absent from the answer, as the operator's test expects.
  WriteConfigMap(ServiceYaml());
  EXPECT_TRUE(Reconcile(ServiceDoc()));
  config = GetJson("/v1/config", "Config");
  EXPECT_FALSE(config.contains("backup-routines"));
  EXPECT_FALSE(config.contains("aerospike-clusters"));

  // The password came back as written, yet reached no log (the log file's directory
  // created by absd) and no job history.
  absd_->Kill(SIGTERM);
  ASSERT_TRUE(fs::exists(dir_ / "log" / "absd.log"));
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file() || entry.path().filename() == "config.yml" ||
        entry.path().filename().string().rfind("config.yml", 0) == 0) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find(kPassword), std::string::npos) << entry.path();
  }
}

// A file shaped like ABS's own sample configuration (zero-valued logger settings, a log
// directory that does not exist yet, grouped digits) starts absd unchanged, and is served
// back as written.
TEST_F(AbsContractTest, AFileShapedLikeAbsSampleStartsUnchanged) {
  std::ifstream in(std::string(ABS_SOURCE_DIR) + "/tests/data/abs-configs/abs-sample-shaped.yml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (auto [from, to] : {std::pair<std::string, std::string>{"@DIR@", dir_.string()},
                          {"@PORT@", std::to_string(port_)}}) {
    for (size_t at; (at = text.find(from)) != std::string::npos;)
      text.replace(at, from.size(), to);
  }
  WriteConfigMap(text);
  ASSERT_FALSE(fs::exists(dir_ / "log"));
  absd_ = std::make_unique<AbsdProcess>(dir_ / "config.yml", (dir_ / "state").string(), port_);
  ASSERT_GT(absd_->Start(), 0);
  ASSERT_TRUE(absd_->WaitUp(std::chrono::seconds(10))) << "absd did not start with " << text;
  auto expected = YamlToJson(text);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(DeepEqual(GetJson("/v1/config", "Config"), *expected));
  EXPECT_TRUE(fs::exists(dir_ / "log" / "backup-service" / "aerospike-backup-service.log"));
}

// absd -r: the configuration is an object in a storage, named by a storage definition
// file, on every storage abs supports; it is read with the same validation, an edit
// through the API is written back to it, and apply reads it again.
TEST_F(AbsContractTest, RemoteConfigurationIsReadFromAndWrittenToAStorage) {
  for (const std::string kind : {"local", "s3", "gcs", "azure"}) {
    SCOPED_TRACE(kind);
    const fs::path where = dir_ / ("remote-" + kind);
    Json definition;
    std::unique_ptr<storage::Storage> store;
    CloudStore cloud;
    if (kind == "local") {
      fs::create_directories(where / "configs");
      definition = {{"local-storage", {{"path", (where / "configs" / "abs.yml").string()}}}};
      storage::StorageSpec spec;
      spec.path = (where / "configs").string();
      store = storage::OpenStorage(spec).value();
    } else {
      auto started = StartCloud(kind, where, "configs/abs.yml");
      ASSERT_TRUE(started.ok()) << started.status().ToString();
      cloud = std::move(started).value();
      definition = cloud.block;
      storage::StorageSpec spec = cloud.spec;
      spec.path = "configs";
      store = storage::OpenStorage(spec).value();
    }
    std::ofstream(dir_ / "config.yml") << definition.dump();
    port_ = testing::FreeLocalPort();
    ASSERT_TRUE(store->PutAtomic("abs.yml", BackupYaml()).ok());
    absd_ = std::make_unique<AbsdProcess>(dir_ / "config.yml", (where / "state").string(), port_);
    absd_->extra_args = {"-r"};
    ASSERT_GT(absd_->Start(), 0);
    ASSERT_TRUE(absd_->WaitUp(std::chrono::seconds(10)));
    EXPECT_TRUE(DeepEqual(GetJson("/v1/config", "Config"), BackupDoc()));

    auto r = absd_->http->Put((std::string("/v1/config/routines/") + kRoutine + "/disable").c_str(),
                              "", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204) << r->body;
    auto saved = YamlToJson(store->ReadAll("abs.yml").value());
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    EXPECT_EQ((*saved)["backup-routines"][kRoutine]["disabled"], true);

    // Changed in the storage, then applied: absd reads it again.
    ASSERT_TRUE(store->PutAtomic("abs.yml", ServiceYaml()).ok());
    r = Call("POST", "/v1/config/apply");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(DeepEqual(GetJson("/v1/config", "Config"), ServiceDoc()));
    absd_.reset();
  }
  // A definition that is not one storage is refused, naming the field.
  std::ofstream(dir_ / "bad.yml") << "local-storage: {}\n";
  AbsdProcess bad(dir_ / "bad.yml", (dir_ / "bad-state").string(), testing::FreeLocalPort());
  bad.extra_args = {"-r"};
  ASSERT_GT(bad.Start(), 0);
  int status = bad.WaitExit(std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
}

}  // namespace
}  // namespace absvc::service
