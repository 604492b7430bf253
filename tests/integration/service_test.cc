// absd over real HTTP against abs-devcluster processes: system endpoints, backups and
// restores through the API, bad requests, concurrent triggers, cancel mid-backup, config
// edits (rejected ones leave the old config in force), timestamp restores, crash
// recovery, and the parallel workflow with node-list, rack-list and partition-list slices
// (two service instances, one storage), including a missing slice that verify catches.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absd_harness.h"
#include "backup/verify.h"
#include "backupset/catalog.h"
#include "backupset/checkpoint.h"
#include "backupset/metadata.h"
#include "client/client.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "emulator.h"
#include "http/http_api.h"
#include "json_schema.h"
#include "restore/restore_job.h"
#include "service/ownership.h"
#include "service/service.h"
#include "storage/local/local_storage.h"
#include "storage/registry.h"
#include "storage/storage.h"
#include "test_certs.h"
#include "test_cluster.h"
#include "wire/expression.h"
#include "wire/info.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;
using testing::DevClusterArgs;
using testing::FreeLocalPort;
using testing::TestCluster;

using namespace harness;
using testing_schema::CheckSchema;

constexpr uint64_t kRecords = 20000;

// read = inserted + existed + fresher + skipped + expired + ignored + failed.
bool CountersAddUp(const Json& status) {
  uint64_t sum = 0;
  for (const char* k : {"inserted-records", "existed-records", "fresher-records", "skipped-records",
                        "expired-records", "ignored-records", "failed-records"}) {
    sum += status[k].get<uint64_t>();
  }
  return status["read-records"].get<uint64_t>() == sum;
}

// One absd: the service and its HTTP API in this process, a client for its port.
struct Instance {
  fs::path config_path;
  std::unique_ptr<Service> service;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<httplib::Client> http;

  ~Instance() {
    if (api) api->Stop();
    if (service) service->Stop();
  }
  httplib::Result Get(const std::string& path) { return http->Get(path.c_str()); }
  httplib::Result Post(const std::string& path, const std::string& body = "") {
    return body.empty() ? http->Post(path.c_str())
                        : http->Post(path.c_str(), body, "application/json");
  }
  httplib::Result Put(const std::string& path, const std::string& body) {
    return http->Put(path.c_str(), body, "application/json");
  }
  // Waits until the routine runs no backup.
  void WaitIdle(const std::string& routine) {
    for (int i = 0; i < 600; ++i) {
      auto r = Get("/v1/backups/currentBackup/" + routine);
      ASSERT_TRUE(r && r->status == 200);
      auto j = Json::parse(r->body);
      if (!j.contains("full") && !j.contains("incremental")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "backup of " << routine << " did not finish";
  }
  Json WaitRestore(int64_t id) {
    for (int i = 0; i < 600; ++i) {
      auto r = Get("/v1/restore/status/" + std::to_string(id));
      EXPECT_TRUE(r && r->status == 200);
      if (!r || r->status != 200) return {};
      auto j = Json::parse(r->body);
      if (j["status"] != "running") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "restore " << id << " did not finish";
    return {};
  }
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) {
      GTEST_SKIP() << "these tests truncate the namespace: devcluster only";
    }
    dir_ = fs::temp_directory_path() /
           ("abs-svc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Status st = StartClusterAndClient({"--racks", "1,2,3", "--namespace", "test:rf=2"}, &cluster_,
                                      &client_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The service on a cloud storage block: /ready probes it, a full and an incremental
  // backup land and are listed, restores by time and by key bring every record back,
  // retention removes an older full backup, and the storage's requests show in /metrics; with
  // `broken` (the same block, wrong credentials) /ready names the storage and the cause.
  void CloudWorkflow(const Json& block, const Json& broken,
                     const std::vector<std::string>& broken_says = {"403",
                                                                    "check the credentials"});

  // A config with cluster "c1", storage "shared" and routine "r1" (whole namespace).
  Json BaseConfig() {
    Json seeds = Json::array();
    for (const auto& s : cluster_->seeds())
      seeds.push_back({{"host-name", s.name}, {"port", s.port}});
    Json doc;
    doc["service"] = {{"http", {{"address", "127.0.0.1"}}}, {"logger", {{"level", "WARN"}}}};
    doc["aerospike-clusters"] = {{"c1", {{"seed-nodes", seeds}}}};
    doc["storage"] = {{"shared", {{"local-storage", {{"path", (dir_ / "storage").string()}}}}}};
    // Scan settings every service test runs with: acted on (backup_restore_test shows
    // their effect), here through absd's policy.
    doc["backup-policies"] = {{"p1",
                               {{"parallel", 4},
                                {"file-limit", 10},
                                {"max-concurrent-nodes", 2},
                                {"use-scan-compression", true},
                                {"total-timeout", 600000}}}};
    doc["backup-routines"] = {{"r1",
                               {{"interval-cron", "@yearly"},
                                {"source-cluster", "c1"},
                                {"storage", "shared"},
                                {"backup-policy", "p1"},
                                {"namespaces", {"test"}}}}};
    return doc;
  }

  std::unique_ptr<Instance> StartInstance(const Json& doc, const std::string& name,
                                          Clock* clock = &Clock::Real()) {
    auto inst = std::make_unique<Instance>();
    fs::create_directories(dir_ / name);
    inst->config_path = dir_ / name / "aerospike-backup-service.yml";
    std::ofstream(inst->config_path) << JsonToYaml(doc);
    auto cfg = LoadConfigFile(inst->config_path.string());
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    if (!cfg.ok()) return nullptr;
    ServiceOptions options{inst->config_path.string(), (dir_ / name / "state").string(), "test"};
    options.clock = clock;
    auto svc = Service::Create(options, std::move(cfg).value());
    EXPECT_TRUE(svc.ok()) << svc.status().ToString();
    if (!svc.ok()) return nullptr;
    inst->service = std::move(svc).value();
    EXPECT_TRUE(inst->service->Start().ok());
    inst->api = std::make_unique<HttpApi>(*inst->service);
    Status st = inst->api->Start("127.0.0.1", 0);
    EXPECT_TRUE(st.ok()) << st.ToString();
    inst->http = std::make_unique<httplib::Client>("127.0.0.1", inst->api->port());
    inst->http->set_read_timeout(30, 0);
    return inst;
  }

  std::vector<std::string> FinishedBackupDirs(const std::string& routine,
                                              bool incremental = false) {
    std::vector<std::string> out;
    fs::path base = dir_ / "storage" / routine / (incremental ? "incremental" : "backup");
    if (!fs::exists(base)) return out;
    for (auto& e : fs::recursive_directory_iterator(base)) {
      if (e.path().filename() == "metadata.yaml") out.push_back(e.path().parent_path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  std::unique_ptr<TestCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

// --- The OpenAPI document against the routes absd registers and the answers it gives.

// "/v1/config/clusters/{name}" -> "/v1/config/clusters/{}".
std::string NormalTemplate(const std::string& path) {
  static const std::regex param(R"(\{[^}/]+\})");
  return std::regex_replace(path, param, "{}");
}

// A registered pattern -> the templates it serves: "(a|b)" alternations expanded, a name
// group "([^/]+)" as "{}".
std::vector<std::string> ExpandPattern(const std::string& pattern) {
  std::vector<std::string> out = {""};
  if (pattern == "/") return {"/"};
  std::string named = std::regex_replace(pattern, std::regex(R"(\(\[\^/\][+*]\))"), "{}");
  for (auto segment : wire::SplitList(named, '/')) {
    std::vector<std::string> options;
    std::string seg(segment);
    if (seg.front() == '(' && seg.back() == ')') {
      std::string inner = seg.substr(1, seg.size() - 2);
      for (auto o : wire::SplitList(inner, '|'))
        options.emplace_back(o);
    } else {
      options = {seg};
    }
    std::vector<std::string> next;
    for (const auto& prefix : out)
      for (const auto& o : options)
        next.push_back(prefix + "/" + o);
    out = std::move(next);
  }
  return out;
}

class ApiContract {
 public:
  ApiContract(Instance& inst, Json doc) : inst_(inst), doc_(std::move(doc)) {}

  // The documented template `path` falls under: literal segments win over parameters.
  std::string TemplateOf(const std::string& path) const {
    std::string best;
    int best_literals = -1;
    auto parts = wire::SplitList(path, '/');
    for (auto it = doc_["paths"].begin(); it != doc_["paths"].end(); ++it) {
      auto tparts = wire::SplitList(it.key(), '/');
      if (tparts.size() != parts.size()) continue;
      int literals = 0;
      bool match = true;
      for (size_t i = 0; i < parts.size() && match; ++i) {
        if (tparts[i].front() == '{') continue;
        match = tparts[i] == parts[i];
        ++literals;
      }
      if (match && literals > best_literals) {
        best = it.key();
        best_literals = literals;
      }
    }
    return best;
  }

  // Sends the request; the answer must be `expected`, a status the document lists for the
  // operation, with a body its schema accepts; a JSON request body must fit its schema too.
  httplib::Result Call(const std::string& method, const std::string& path, int expected,
                       const Json& body = nullptr) {
    std::string bare = path.substr(0, path.find('?'));
    std::string tmpl = TemplateOf(bare == "" ? "/" : bare);
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    EXPECT_FALSE(tmpl.empty()) << method << " " << path << " is not documented";
    if (tmpl.empty() || !doc_["paths"][tmpl].contains(m)) {
      ADD_FAILURE() << method << " " << tmpl << " is not documented";
      return httplib::Result(nullptr, httplib::Error::Unknown);
    }
    const Json& op = doc_["paths"][tmpl][m];
    exercised_.insert(method + " " + NormalTemplate(tmpl));
    // A body meant to be accepted must fit the documented schema (bad ones are sent on
    // purpose to see the 400).
    if (!body.is_null() && op.contains("requestBody") && expected < 300) {
      std::vector<std::string> errors;
      CheckSchema(op["requestBody"]["content"]["application/json"]["schema"], body, doc_, "request",
                  errors);
      EXPECT_TRUE(errors.empty()) << method << " " << path << ": " << errors[0];
    }
    std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET" ? inst_.http->Get(path.c_str())
                        : method == "POST"
                            ? inst_.http->Post(path.c_str(), text, "application/json")
                        : method == "PUT" ? inst_.http->Put(path.c_str(), text, "application/json")
                                          : inst_.http->Delete(path.c_str());
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return r;
    EXPECT_EQ(r->status, expected) << method << " " << path << ": " << r->body;
    std::string code = std::to_string(r->status);
    EXPECT_TRUE(op["responses"].contains(code))
        << method << " " << tmpl << " answered " << code << ", which the document does not list";
    if (!op["responses"].contains(code)) return r;
    Json response = op["responses"][code];
    if (response.contains("$ref")) response = doc_["components"]["responses"]["Error"];
    if (!response.contains("content")) return r;
    std::string type = r->get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    EXPECT_TRUE(response["content"].contains(type))
        << method << " " << tmpl << " " << code << " answered " << type;
    if (type == "application/json" && response["content"].contains(type)) {
      std::vector<std::string> errors;
      CheckSchema(response["content"][type]["schema"], Json::parse(r->body), doc_, "body", errors);
      EXPECT_TRUE(errors.empty()) << method << " " << path << ": " << errors[0] << "\n" << r->body;
    } else if (type == "text/plain" && response["content"].contains(type)) {
      std::vector<std::string> errors;
      CheckSchema(response["content"][type]["schema"], Json(r->body), doc_, "body", errors);
      EXPECT_TRUE(errors.empty()) << method << " " << path << ": " << errors[0];
    }
    return r;
  }

  const std::set<std::string>& exercised() const { return exercised_; }

 private:
  Instance& inst_;
  Json doc_;
  std::set<std::string> exercised_;
};

TEST_F(ServiceTest, EveryRouteIsDocumentedAndAnswersAsDocumented) {
  ASSERT_TRUE(Load(*client_, 300, "v1").ok());
  Json config = BaseConfig();
  config["backup-policies"]["p1"]["with-cluster-configuration"] = true;
  auto inst = StartInstance(config, "a");
  ASSERT_TRUE(inst);
  auto served = inst->Get("/api-docs");
  ASSERT_EQ(served->status, 200);
  Json doc = Json::parse(served->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");

  // The routes and the document name the same operations.
  std::set<std::string> registered, documented;
  for (const auto& route : inst->api->routes())
    for (const auto& t : ExpandPattern(route.pattern))
      registered.insert(route.method + " " + t);
  for (auto it = doc["paths"].begin(); it != doc["paths"].end(); ++it) {
    for (const char* m : {"get", "post", "put", "delete"}) {
      if (!it.value().contains(m)) continue;
      std::string method = m;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      documented.insert(method + " " + NormalTemplate(it.key()));
    }
  }
  for (const auto& op : registered)
    EXPECT_TRUE(documented.count(op)) << op << " is served but not documented";
  for (const auto& op : documented)
    EXPECT_TRUE(registered.count(op)) << op << " is documented but not served";

  // Every documented operation, called, answers as the document says.
  ApiContract api(*inst, doc);
  for (const char* path : {"/", "/health", "/ready", "/version", "/metrics", "/api-docs",
                           "/api-docs/openapi.yaml", "/v1/config"})
    api.Call("GET", path, 200);
  Json current = Json::parse(inst->Get("/v1/config")->body);
  api.Call("PUT", "/v1/config", 200, current);
  api.Call("POST", "/v1/config/apply", 200);
  api.Call("POST", "/v1/config/clusters/check-connectivity", 200,
           current["aerospike-clusters"]["c1"]);
  api.Call("POST", "/v1/config/storage/check-connectivity", 200, current["storage"]["shared"]);
  api.Call("POST", "/v1/config/storage/check-connectivity", 400, Json{{"nothing", 1}});
  for (auto [section, key, entry] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"clusters", "aerospike-clusters", "c1"},
           {"storage", "storage", "shared"},
           {"policies", "backup-policies", "p1"},
           {"routines", "backup-routines", "r1"}}) {
    std::string base = "/v1/config/" + section;
    api.Call("GET", base, 200);
    api.Call("GET", base + "/" + entry, 200);
    api.Call("GET", base + "/nosuch", 404);
    api.Call("POST", base + "/copy", 201, current[key][entry]);
    api.Call("POST", base + "/copy", 409, current[key][entry]);
    api.Call("PUT", base + "/copy", 200, current[key][entry]);
    api.Call("DELETE", base + "/copy", 204);
  }
  api.Call("PUT", "/v1/config/routines/r1/disable", 204);
  api.Call("PUT", "/v1/config/routines/r1/enable", 204);

  api.Call("POST", "/v1/backups/full/r1", 202);
  inst->WaitIdle("r1");
  ASSERT_TRUE(Load(*client_, 100, "v2").ok());
  api.Call("POST", "/v1/backups/incremental/r1", 202);
  inst->WaitIdle("r1");
  api.Call("POST", "/v1/backups/schedule/r1", 202);
  inst->WaitIdle("r1");
  // Nothing changed since the last incremental: ABS lists the empty one too.
  api.Call("POST", "/v1/backups/schedule/incremental/r1", 202);
  inst->WaitIdle("r1");
  api.Call("POST", "/v1/backups/full/nosuch", 404);
  api.Call("GET", "/v1/backups/full", 200);
  api.Call("GET", "/v1/backups/incremental", 200);
  Json fulls = Json::parse(api.Call("GET", "/v1/backups/full/r1", 200)->body);
  Json incrementals = Json::parse(api.Call("GET", "/v1/backups/incremental/r1?from=1", 200)->body);
  ASSERT_EQ(incrementals.size(), 2u) << incrementals.dump();
  EXPECT_EQ(incrementals[0]["record-count"], 100);
  EXPECT_EQ(incrementals[1]["record-count"], 0);
  // An incremental's from is its lower bound: the start of the backup before it.
  for (const auto& incr : incrementals) {
    EXPECT_NE(incr["from"], "0001-01-01T00:00:00Z") << incr.dump();
    EXPECT_LT(incr["from"].get<std::string>(), incr["created"].get<std::string>()) << incr.dump();
  }
  EXPECT_EQ(fulls[0]["from"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(fulls[0]["storage"], inst->service->config()->document["storage"]["shared"]);
  ASSERT_FALSE(fulls.empty());
  ASSERT_FALSE(incrementals.empty());
  api.Call("GET", "/v1/backups/currentBackup/r1", 200);
  Json jobs = Json::parse(api.Call("GET", "/v1/backups/jobs", 200)->body);
  EXPECT_EQ(jobs.size(), 4u) << jobs.dump();
  api.Call("GET", "/v1/backups/jobs?limit=x", 400);
  // The two full runs (the trigger and the schedule's) seconds apart: one set within the
  // default minute, each whole namespace so every partition twice; two sets with window=0.
  Json coverage = Json::parse(api.Call("GET", "/v1/coverage/r1", 200)->body);
  ASSERT_EQ(coverage["sets"].size(), 1u) << coverage.dump();
  EXPECT_EQ(coverage["sets"][0]["verdict"], "overlapping");
  EXPECT_EQ(coverage["sets"][0]["runs"].size(), 2u);
  coverage = Json::parse(api.Call("GET", "/v1/coverage/r1?window=0", 200)->body);
  ASSERT_EQ(coverage["sets"].size(), 2u) << coverage.dump();
  for (const auto& set : coverage["sets"]) {
    EXPECT_EQ(set["verdict"], "complete");
    EXPECT_EQ(set["namespaces"]["test"]["partitions"], std::string(4096, '1'));
  }
  EXPECT_GT(coverage["sets"][0]["timestamp"], coverage["sets"][1]["timestamp"]);
  api.Call("GET", "/v1/coverage/r1?type=incremental&window=0&limit=1", 200);
  api.Call("GET", "/v1/coverage/r1?type=weekly", 400);
  api.Call("GET", "/v1/coverage/nosuch", 404);
  api.Call("GET", "/ui", 301);
  for (const char* file : {"/ui/index.html", "/ui/dashboard.js", "/ui/dashboard.css"})
    api.Call("GET", file, 200);
  auto index = inst->Get("/ui/");
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("<title>abs dashboard</title>"), std::string::npos);
  EXPECT_EQ(index->get_header_value("Content-Security-Policy").rfind("default-src 'self'", 0), 0u);
  api.Call("GET", "/ui/nosuch.png", 404);
  // ABS's Swagger UI page, served from absd alone (the browser test renders it).
  for (const char* file : {"/api-docs/index.html", "/api-docs/api-docs.js",
                           "/api-docs/swagger-ui-bundle.js", "/api-docs/swagger-ui.css",
                           "/api-docs/LICENSE", "/api-docs/doc.json", "/api-docs/openapi.json"})
    api.Call("GET", file, 200);
  auto page = inst->Get("/api-docs/");
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("swagger-ui-bundle.js"), std::string::npos) << page->body;
  EXPECT_GT(inst->Get("/api-docs/swagger-ui-bundle.js")->body.size(), 500000u);
  EXPECT_EQ(Json::parse(inst->Get("/api-docs/doc.json")->body), doc);
  api.Call("GET", "/api-docs/nosuch.js", 404);
  api.Call("POST", "/v1/backups/cancel/r1", 404);
  api.Call("GET", "/v1/retrieve/configuration/r1/" + std::to_string(UnixNowMillis()), 200);
  api.Call("GET", "/v1/retrieve/configuration/r1/soon", 400);

  std::vector<int64_t> ids;
  auto started = [&](httplib::Result r) {
    if (r && r->status == 202) ids.push_back(Json::parse(r->body).get<int64_t>());
  };
  started(api.Call("POST", "/v1/restore/full", 202,
                   {{"backup-data-path", fulls[0]["key"]},
                    {"source-name", "shared"},
                    {"destination-name", "c1"}}));
  started(api.Call("POST", "/v1/restore/incremental", 202,
                   {{"backup-data-path", incrementals[0]["key"]},
                    {"source-name", "shared"},
                    {"destination-name", "c1"}}));
  for (int64_t id : ids)
    inst->WaitRestore(id);
  started(api.Call("POST", "/v1/restore/timestamp", 202,
                   {{"routine", "r1"}, {"time", UnixNowMillis()}}));
  inst->WaitRestore(ids.back());
  started(api.Call("POST", "/v1/restore/2099-01-01T00:00:00Z", 202, {{"routine", "r1"}}));
  inst->WaitRestore(ids.back());
  api.Call("POST", "/v1/restore/full", 400, {{"backup-data-path", 1}});
  api.Call("GET", "/v1/restore/status/" + std::to_string(ids[0]), 200);
  api.Call("GET", "/v1/restore/status/999999", 404);
  api.Call("GET", "/v1/restore/jobs?status=done", 200);
  // A finished job: nothing changes, and the answer is ABS's 202.
  api.Call("POST", "/v1/restore/cancel/" + std::to_string(ids[0]), 202);
  EXPECT_EQ(Json::parse(api.Call("GET", "/v1/restore/status/" + std::to_string(ids[0]), 200)->body)
                .value("status", ""),
            "success");

  for (const auto& op : documented)
    EXPECT_TRUE(api.exercised().count(op)) << op << " is documented but this test never calls it";
}

// deploy/grafana's dashboard queries only names /metrics exports, and shows every family
// abs exports except ABS's deprecated ones.
TEST_F(ServiceTest, GrafanaDashboardQueriesTheMetricsAbsdExports) {
  ASSERT_TRUE(Load(*client_, 200, "v1").ok());
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  // Every kind of event once, so that each labelled family has a sample.
  ASSERT_EQ(inst->http->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  ASSERT_EQ(inst->http->Post("/v1/backups/incremental/r1")->status, 202);
  inst->WaitIdle("r1");
  auto started = inst->http->Post("/v1/restore/timestamp",
                                  Json{{"routine", "r1"}, {"time", UnixNowMillis()}}.dump(),
                                  "application/json");
  ASSERT_EQ(started->status, 202) << started->body;
  inst->WaitRestore(Json::parse(started->body).get<int64_t>());
  auto metrics = inst->Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  std::set<std::string> exported;
  std::istringstream lines(metrics->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    exported.insert(line.substr(0, line.find_first_of("{ ")));
  }
  ASSERT_GT(exported.size(), 20u);

  std::ifstream in(std::string(ABS_SOURCE_DIR) + "/deploy/grafana/abs-dashboard.json");
  ASSERT_TRUE(in);
  Json dashboard = Json::parse(in);
  std::set<std::string> queried;
  std::set<int> ids;
  const std::regex metric(R"(\b(abs|aerospike_backup_service)_[a-z_]+\b)");
  auto names_in = [&](const std::string& expr) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) {
      queried.insert(it->str());
      EXPECT_TRUE(exported.count(it->str())) << it->str() << " is queried but not exported";
    }
  };
  for (const auto& panel : dashboard["panels"]) {
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "panel id " << panel["id"];
    if (panel["type"] == "row") continue;
    EXPECT_EQ(panel["datasource"]["uid"], "${datasource}") << panel["title"];
    ASSERT_FALSE(panel["targets"].empty()) << panel["title"];
    for (const auto& t : panel["targets"])
      names_in(t["expr"]);
  }
  for (const auto& var : dashboard["templating"]["list"]) {
    if (var["type"] == "query") names_in(var["definition"]);
  }
  // Every family shown; a histogram through its buckets, sum or count.
  const std::set<std::string> deprecated = {"aerospike_backup_service_runs_total",
                                            "aerospike_backup_service_incremental_runs_total",
                                            "aerospike_backup_service_failure_total",
                                            "aerospike_backup_service_incremental_failure_total",
                                            "aerospike_backup_service_skip_total",
                                            "aerospike_backup_service_incremental_skip_total",
                                            "aerospike_backup_service_duration_millis",
                                            "aerospike_backup_service_incremental_duration_millis"};
  for (const auto& name : exported) {
    if (deprecated.count(name)) continue;
    EXPECT_TRUE(queried.count(name)) << name << " is exported but no panel shows it";
  }
}

TEST_F(ServiceTest, SystemEndpoints) {
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  auto r = inst->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Ok");
  r = inst->Get("/ready");
  EXPECT_EQ(r->status, 200) << r->body;
  r = inst->Get("/version");
  EXPECT_EQ(Json::parse(r->body)["version"], "test");
  r = inst->Get("/metrics");
  EXPECT_NE(r->body.find("aerospike_backup_service_restore_in_progress"), std::string::npos);
  r = inst->Get("/v1/nothing-here");
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(Json::parse(r->body).contains("message"));
  // Ready is honest: a routine whose cluster is gone makes it 503, naming the cluster.
  Json doc = BaseConfig();
  doc["aerospike-clusters"]["dead"] = {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 1}}}},
                                       {"conn-timeout", 200},
                                       {"label", "the old DC"}};
  doc["backup-routines"]["r2"] = doc["backup-routines"]["r1"];
  doc["backup-routines"]["r2"]["source-cluster"] = "dead";
  auto bad = StartInstance(doc, "b");
  ASSERT_TRUE(bad);
  r = bad->Get("/ready");
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("cluster dead (the old DC)"), std::string::npos) << r->body;
}

TEST_F(ServiceTest, BackupAndRestoreThroughTheApi) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  Json doc = BaseConfig();
  doc["backup-policies"]["p1"]["records-per-second"] = 20000;  // about a second: room to race
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  auto r = inst->Post("/v1/backups/full/r1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  // A second trigger while the first runs is refused, not queued or doubled.
  r = inst->Post("/v1/backups/full/r1");
  EXPECT_EQ(r->status, 409) << r->body;
  r = inst->Post("/v1/backups/incremental/r1");
  EXPECT_EQ(r->status, 409) << r->body;
  r = inst->Get("/v1/backups/currentBackup/r1");
  EXPECT_TRUE(Json::parse(r->body).contains("full")) << r->body;
  inst->WaitIdle("r1");
  r = inst->Get("/v1/backups/full/r1");
  ASSERT_EQ(r->status, 200);
  Json list = Json::parse(r->body);
  ASSERT_EQ(list.size(), 1u) << r->body;
  EXPECT_EQ(list[0]["record-count"], kRecords);
  EXPECT_EQ(list[0]["namespace"], "test");
  std::string key = list[0]["key"];
  r = inst->Get("/v1/backups/full");
  EXPECT_EQ(Json::parse(r->body)["r1"].size(), 1u);
  r = inst->Get("/v1/backups/full/r1?from=1&to=2");
  EXPECT_EQ(Json::parse(r->body).size(), 0u);

  ASSERT_TRUE(client_->Truncate("test", "").ok());
  EXPECT_EQ(Count(*client_, "v1").first, 0u);
  Json body = {{"backup-data-path", key},
               {"source-name", "shared"},
               {"destination-name", "c1"},
               {"policy", {{"parallel", 4}, {"batch-size", 64}}}};
  r = inst->Post("/v1/restore/full", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  int64_t id = Json::parse(r->body).get<int64_t>();
  Json status = inst->WaitRestore(id);
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(status["read-records"], kRecords);
  EXPECT_EQ(status["inserted-records"], kRecords);
  EXPECT_EQ(Count(*client_, "v1"), std::make_pair(kRecords, kRecords));
  r = inst->Get("/v1/restore/jobs?status=done");
  EXPECT_TRUE(Json::parse(r->body).contains(std::to_string(id))) << r->body;
  r = inst->Get("/v1/restore/jobs?status=!success");
  EXPECT_FALSE(Json::parse(r->body).contains(std::to_string(id)));
  r = inst->Post("/v1/restore/cancel/" + std::to_string(id));
  EXPECT_EQ(r->status, 202) << "a finished job: nothing changes, as in ABS";

  // A delayed trigger is scheduled, not running: it shows as the next full backup, blocks
  // no restore into the cluster, and is cancelled like a running one.
  r = inst->Post("/v1/backups/full/r1?delay=86400000");
  ASSERT_EQ(r->status, 202) << r->body;
  Json current = Json::parse(inst->Get("/v1/backups/currentBackup/r1")->body);
  EXPECT_FALSE(current.contains("full")) << current.dump();
  ASSERT_TRUE(current.contains("next-full")) << current.dump();
  const int64_t due = backupset::ParseRfc3339Millis(current["next-full"].get<std::string>());
  EXPECT_NEAR(static_cast<double>(due), static_cast<double>(UnixNowMillis() + 86400000), 60000.0);
  r = inst->Post("/v1/restore/full", body.dump());
  ASSERT_EQ(r->status, 202) << "a scheduled backup blocked a restore: " << r->body;
  EXPECT_EQ(inst->WaitRestore(Json::parse(r->body).get<int64_t>())["status"], "success");
  EXPECT_EQ(inst->Post("/v1/backups/cancel/r1")->status, 202);
  for (int i = 0; i < 100; ++i) {
    current = Json::parse(inst->Get("/v1/backups/currentBackup/r1")->body);
    if (!current.contains("next-full") ||
        backupset::ParseRfc3339Millis(current["next-full"].get<std::string>()) != due) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(!current.contains("next-full") ||
              backupset::ParseRfc3339Millis(current["next-full"].get<std::string>()) != due)
      << "the cancelled trigger is still scheduled: " << current.dump();
  r = inst->Get("/v1/backups/full/r1");
  EXPECT_EQ(Json::parse(r->body).size(), 1u) << "the cancelled trigger wrote nothing";

  r = inst->Get("/metrics");
  EXPECT_NE(r->body.find("aerospike_backup_service_backup_events_total{outcome=\"success\","
                         "routine=\"r1\",type=\"full\"} 1"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("outcome=\"skip\""), std::string::npos);

  // The job survives a restart of the service: the history is in SQLite.
  inst.reset();
  auto again = StartInstance(doc, "a");
  r = again->Get("/v1/restore/status/" + std::to_string(id));
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body)["status"], "success");
  EXPECT_EQ(Json::parse(r->body)["inserted-records"], kRecords);
}

// S3 (s3rver, signatures checked by AWS's signer).
TEST_F(ServiceTest, BackupsListingsAndRestoresOnS3) {
  fs::create_directories(dir_ / "s3");
  auto s3 = testing::Emulator::Start("s3.js", {(dir_ / "s3").string(), "abs-test"});
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  Json block = {{"s3-storage",
                 {{"bucket", "abs-test"},
                  {"path", "/backups/"},
                  {"s3-region", "us-east-1"},
                  {"s3-endpoint-override", (*s3)->endpoint()},
                  {"access-key-id", "S3RVER"},
                  {"secret-access-key", "S3RVER"},
                  {"min-part-size", 5 << 20}}}};
  Json broken = block;
  broken["s3-storage"]["secret-access-key"] = "wrong";
  CloudWorkflow(block, broken);
}

// Azure (azurite, Shared Key enforced).
TEST_F(ServiceTest, BackupsListingsAndRestoresOnAzure) {
  fs::create_directories(dir_ / "azure");
  auto az = testing::Emulator::Start("azure.js", {(dir_ / "azure").string(), "abs-test"});
  ASSERT_TRUE(az.ok()) << az.status().ToString();
  Json block = {{"azure-storage",
                 {{"endpoint", (*az)->endpoint() + "/devstoreaccount1"},
                  {"container-name", "abs-test"},
                  {"path", "backups"},
                  {"account-name", "devstoreaccount1"},
                  {"account-key",
                   "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
                   "KBHBeksoGMGw=="},
                  {"min-part-size", 1 << 20}}}};
  Json broken = block;
  broken["azure-storage"]["account-key"] = "d3Jvbmcga2V5";
  CloudWorkflow(block, broken);
}

// GCS (the project's test server, OAuth tokens checked against the key): the guide's
// block shape, gcp-storage {bucket-name, path, endpoint, key-file-path}.
TEST_F(ServiceTest, BackupsListingsAndRestoresOnGcs) {
  fs::create_directories(dir_ / "gcs");
  std::string key = (dir_ / "gcs" / "key.json").string();
  auto gcs = testing::Emulator::Start("gcs.js", {key, "abs-test"});
  ASSERT_TRUE(gcs.ok()) << gcs.status().ToString();
  Json block = {{"gcp-storage",
                 {{"bucket-name", "abs-test"},
                  {"path", "backups"},
                  {"endpoint", (*gcs)->endpoint()},
                  {"key-file-path", key},
                  {"min-part-size", 256 << 10}}}};
  Json broken = block;
  broken["gcp-storage"]["bucket-name"] = "no-such-bucket";
  CloudWorkflow(block, broken, {"gs://no-such-bucket", "does not exist"});
}

void ServiceTest::CloudWorkflow(const Json& block, const Json& broken,
                                const std::vector<std::string>& broken_says) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  Json doc = BaseConfig();
  doc["storage"]["shared"] = block;
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  auto r = inst->Get("/ready");
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  ASSERT_TRUE(Load(*client_, 100, "v2").ok());
  ASSERT_EQ(inst->Post("/v1/backups/incremental/r1")->status, 202);
  inst->WaitIdle("r1");
  r = inst->Get("/v1/backups/full/r1");
  ASSERT_EQ(r->status, 200) << r->body;
  Json full = Json::parse(r->body);
  ASSERT_EQ(full.size(), 1u) << r->body;
  EXPECT_EQ(full[0]["record-count"], kRecords);
  r = inst->Get("/v1/backups/incremental/r1");
  Json incremental = Json::parse(r->body);
  ASSERT_EQ(incremental.size(), 1u) << r->body;
  EXPECT_EQ(incremental[0]["record-count"], 100);

  // Restore to a point in time: the full backup and the incremental after it.
  ASSERT_TRUE(client_->Truncate("test", "").ok());
  Json by_time = {{"routine", "r1"},
                  {"time", incremental[0]["finished-timestamp"].get<int64_t>() + 1},
                  {"policy", {{"parallel", 2}}}};
  r = inst->Post("/v1/restore/timestamp", by_time.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  Json status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(status["read-records"], kRecords + 100);

  // The full backup alone, by its key.
  ASSERT_TRUE(client_->Truncate("test", "").ok());
  Json body = {{"backup-data-path", full[0]["key"]},
               {"source-name", "shared"},
               {"destination-name", "c1"},
               {"policy", {{"parallel", 4}}}};
  r = inst->Post("/v1/restore/full", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(Count(*client_, "v1"), std::make_pair(kRecords, kRecords));

  // Retention keeps the newest full backup: a second one replaces the first.
  doc["backup-policies"]["p1"]["retention"] = {{"full", 1}};
  auto retained = StartInstance(doc, "c");
  ASSERT_TRUE(retained);
  ASSERT_EQ(retained->Post("/v1/backups/full/r1")->status, 202);
  retained->WaitIdle("r1");
  Json after = Json::parse(retained->Get("/v1/backups/full/r1")->body);
  ASSERT_EQ(after.size(), 1u) << after.dump();
  EXPECT_NE(after[0]["key"], full[0]["key"]);
  r = inst->Get("/metrics");
  EXPECT_NE(r->body.find("abs_storage_requests_total{op=\"list\"} "), std::string::npos);
  EXPECT_EQ(r->body.find("abs_storage_bytes_total{direction=\"write\"} 0\n"), std::string::npos)
      << "backups wrote bytes to storage";

  // Wrong credentials: /ready names the storage and the cause.
  doc["storage"]["shared"] = broken;
  auto bad = StartInstance(doc, "b");
  ASSERT_TRUE(bad);
  r = bad->Get("/ready");
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("storage shared"), std::string::npos) << r->body;
  for (const auto& says : broken_says)
    EXPECT_NE(r->body.find(says), std::string::npos) << r->body;

  // The same probes on demand, for an entry not (yet) in the configuration.
  r = inst->Post("/v1/config/storage/check-connectivity", block.dump());
  EXPECT_EQ(r->status, 200) << r->body;
  r = inst->Post("/v1/config/storage/check-connectivity", broken.dump());
  EXPECT_EQ(r->status, 503) << "the storage's failure, as documented: " << r->body;
  for (const auto& says : broken_says)
    EXPECT_NE(r->body.find(says), std::string::npos) << r->body;
  EXPECT_FALSE(Json::parse(inst->Get("/v1/config/storage")->body).contains("check"))
      << "nothing is kept";
}

// A routine's filter-exp (base64 packed expression) selects the records of every backup,
// and an incremental applies it together with its time bound.
TEST_F(ServiceTest, FilterExpSelectsRecordsAlsoWithinAnIncremental) {
  ASSERT_TRUE(Load(*client_, 1000, "v1").ok());
  Json doc = BaseConfig();
  namespace exp = wire::exp;
  doc["backup-routines"]["r1"]["filter-exp"] =
      Base64Encode(exp::Ge(exp::Bin(wire::ExpType::kInt, "i"), exp::Int(100)));
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  Json full = Json::parse(inst->Get("/v1/backups/full/r1")->body);
  ASSERT_EQ(full.size(), 1u) << full.dump();
  EXPECT_EQ(full[0]["record-count"], 900) << "i >= 100 of 0..999";
  // Records 0..299 change: of those, the filter keeps 100..299.
  ASSERT_TRUE(Load(*client_, 300, "v2").ok());
  ASSERT_EQ(inst->Post("/v1/backups/incremental/r1")->status, 202);
  inst->WaitIdle("r1");
  Json incremental = Json::parse(inst->Get("/v1/backups/incremental/r1")->body);
  ASSERT_EQ(incremental.size(), 1u) << incremental.dump();
  EXPECT_EQ(incremental[0]["record-count"], 200);
}

// An encryption key held by a Secret Agent (tests/emulators/secret_agent.js): the backup
// is encrypted with the key the policy's key-secret names, and a restore whose request
// names the agent and the same key-secret reads it back.
TEST_F(ServiceTest, AnEncryptionKeyFromASecretAgentBacksUpAndRestores) {
  ASSERT_TRUE(Load(*client_, 500, "v1").ok());
  const std::string pem = testing::RsaPrivateKeyPem();
  std::ofstream(dir_ / "secrets.json") << Json{{"keys", {{"backup", pem}}}}.dump();
  auto agent = testing::Emulator::Start("secret_agent.js", {(dir_ / "secrets.json").string()});
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  Json doc = BaseConfig();
  doc["secret-agents"] = {
      {"vault",
       {{"connection-type", "tcp"}, {"address", "127.0.0.1"}, {"port", (*agent)->port()}}}};
  doc["backup-policies"]["p1"]["encryption"] = {{"mode", "AES256"},
                                                {"key-secret", "secrets:keys:backup"}};
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  Json list = Json::parse(inst->Get("/v1/backups/full/r1")->body);
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["record-count"], 500);
  // The secret never shows in the configuration the API returns.
  auto shown = inst->Get("/v1/config");
  EXPECT_EQ(shown->body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(shown->body.find("secrets:keys:backup"), std::string::npos);

  ASSERT_TRUE(client_->Truncate("test", "").ok());
  Json body = {
      {"backup-data-path", list[0]["key"]},
      {"source-name", "shared"},
      {"destination-name", "c1"},
      {"secret-agent-name", "vault"},
      {"policy", {{"encryption", {{"mode", "AES256"}, {"key-secret", "secrets:keys:backup"}}}}}};
  auto r = inst->Post("/v1/restore/full", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  Json status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(Count(*client_, "v1"), std::make_pair(uint64_t{500}, uint64_t{500}));
  // A key the agent does not hold is refused with the field named.
  body["policy"]["encryption"]["key-secret"] = "secrets:keys:other";
  r = inst->Post("/v1/restore/full", body.dump());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("policy.encryption.key-secret: Secret Agent tcp 127.0.0.1"),
            std::string::npos)
      << r->body;
}

// Reads back a stored zip as the format defines it (local headers, then the central
// directory the end record points to): name -> contents, each CRC checked.
std::map<std::string, std::string> ReadZip(const std::string& zip) {
  auto u16 = [&](size_t at) {
    return static_cast<uint16_t>(static_cast<uint8_t>(zip[at]) | static_cast<uint8_t>(zip[at + 1])
                                                                     << 8);
  };
  auto u32 = [&](size_t at) { return static_cast<uint32_t>(u16(at) | u16(at + 2) << 16); };
  std::map<std::string, std::string> out;
  EXPECT_GE(zip.size(), 22u);
  if (zip.size() < 22) return out;
  size_t end = zip.size() - 22;
  EXPECT_EQ(u32(end), 0x06054b50u);
  size_t entries = u16(end + 10), at = u32(end + 16);
  for (size_t i = 0; i < entries; ++i) {
    EXPECT_EQ(u32(at), 0x02014b50u);
    uint32_t crc = u32(at + 16), size = u32(at + 24);
    size_t name_len = u16(at + 28), extra = u16(at + 30), comment = u16(at + 32);
    size_t local = u32(at + 42);
    std::string name = zip.substr(at + 46, name_len);
    EXPECT_EQ(u32(local), 0x04034b50u);
    size_t data_at = local + 30 + u16(local + 26) + u16(local + 28);
    std::string data = zip.substr(data_at, size);
    EXPECT_EQ(crc, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()),
                                               static_cast<uInt>(data.size()))))
        << name;
    out[name] = data;
    at += 46 + name_len + extra + comment;
  }
  return out;
}

TEST_F(ServiceTest, ClusterConfigurationIsSavedWithFullBackupsAndServedAsAZip) {
  ASSERT_TRUE(Load(*client_, 200, "v1").ok());
  Json doc = BaseConfig();
  doc["backup-policies"]["p1"]["with-cluster-configuration"] = true;
  doc["backup-policies"]["plain"] = Json::object();
  doc["backup-routines"]["r2"] = doc["backup-routines"]["r1"];
  doc["backup-routines"]["r2"]["backup-policy"] = "plain";
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  int64_t before = UnixNowMillis();
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  ASSERT_EQ(inst->Post("/v1/backups/full/r2")->status, 202);
  inst->WaitIdle("r1");
  inst->WaitIdle("r2");
  auto dirs = FinishedBackupDirs("r1");
  ASSERT_EQ(dirs.size(), 1u);
  fs::path run = fs::path(dirs[0]).parent_path().parent_path();
  std::vector<std::string> saved;
  for (auto& e : fs::directory_iterator(run / "configuration"))
    saved.push_back(e.path().filename().string());
  std::sort(saved.begin(), saved.end());
  EXPECT_EQ(saved,
            (std::vector<std::string>{"aerospike_0.conf", "aerospike_1.conf", "aerospike_2.conf"}));

  auto r = inst->Get("/v1/retrieve/configuration/r1/" + std::to_string(UnixNowMillis()));
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/zip");
  EXPECT_EQ(r->get_header_value("Content-Disposition"), "attachment; filename=\"archive.zip\"");
  auto files = ReadZip(r->body);
  ASSERT_EQ(files.size(), 3u);
  std::set<std::string> node_names;
  for (const auto& [name, text] : files) {
    std::ifstream in(run / "configuration" / name);
    std::string stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, stored) << name;
    EXPECT_NE(text.find("service {\n    cluster-name abs-devcluster\n"), std::string::npos) << text;
    EXPECT_NE(text.find("network {\n"), std::string::npos) << text;
    EXPECT_NE(text.find("    heartbeat {\n        interval 150\n"), std::string::npos) << text;
    EXPECT_NE(text.find("namespace test {\n    default-ttl 0\n    nsup-period 120\n    "
                        "replication-factor 2\n"),
              std::string::npos)
        << text;
    auto at = text.find("node-id ");
    ASSERT_NE(at, std::string::npos);
    node_names.insert(text.substr(at + 8, text.find('\n', at) - at - 8));
  }
  EXPECT_EQ(node_names.size(), 3u) << "one file per node";

  // Before the first backup, a routine whose policy does not save it, a bad time, an
  // unknown routine: each named.
  r = inst->Get("/v1/retrieve/configuration/r1/" + std::to_string(before - 60000));
  EXPECT_EQ(r->status, 404) << r->body;
  EXPECT_NE(r->body.find("no full backup at or before"), std::string::npos) << r->body;
  r = inst->Get("/v1/retrieve/configuration/r2/" + std::to_string(UnixNowMillis()));
  EXPECT_EQ(r->status, 404) << r->body;
  EXPECT_NE(r->body.find("holds no cluster configuration"), std::string::npos) << r->body;
  r = inst->Get("/v1/retrieve/configuration/r1/yesterday");
  EXPECT_EQ(r->status, 400) << r->body;
  r = inst->Get("/v1/retrieve/configuration/nosuch/1");
  EXPECT_EQ(r->status, 404) << r->body;
}

TEST_F(ServiceTest, ConnectivityChecksProbeAnEntryAndKeepNothing) {
  Json doc = BaseConfig();
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  Json cluster = doc["aerospike-clusters"]["c1"];
  auto r = inst->Post("/v1/config/clusters/check-connectivity", cluster.dump());
  EXPECT_EQ(r->status, 200) << r->body;
  // Nobody listens there: refused within the probe's bound, naming the seed.
  Json nowhere = {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 1}}}}};
  r = inst->Post("/v1/config/clusters/check-connectivity", nowhere.dump());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("127.0.0.1:1"), std::string::npos) << r->body;
  // Validated like the configuration: the bad field is named.
  cluster["seed-nodez"] = 1;
  r = inst->Post("/v1/config/clusters/check-connectivity", cluster.dump());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("seed-nodez"), std::string::npos) << r->body;
  r = inst->Post("/v1/config/storage/check-connectivity", doc["storage"]["shared"].dump());
  EXPECT_EQ(r->status, 200) << r->body;
  r = inst->Post("/v1/config/storage/check-connectivity", "[1]");
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(Json::parse(inst->Get("/v1/config/clusters")->body).size(), 1u) << "nothing kept";
}

TEST_F(ServiceTest, BadRequestsGetClearErrors) {
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  auto r = inst->Post("/v1/restore/full", "{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(Json::parse(r->body)["message"].get<std::string>().find("not valid JSON"),
            std::string::npos);
  r = inst->Post("/v1/restore/full",
                 R"({"backup-data-path": 5, "source-name": "shared", "destination-name": "c1"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("backup-data-path: must be a string"), std::string::npos) << r->body;
  r = inst->Post("/v1/restore/full",
                 R"({"backup-data-path": "x", "source-name": "shared", "destination-name": "c1",
                     "policy": {"parallel": "many"}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("policy.parallel"), std::string::npos) << r->body;
  for (const char* path : {"../../etc", "/etc", "r1/../../x"}) {
    Json body = {{"backup-data-path", path}, {"source-name", "shared"}, {"destination-name", "c1"}};
    r = inst->Post("/v1/restore/full", body.dump());
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    EXPECT_NE(r->body.find("backup-data-path"), std::string::npos) << r->body;
  }
  Json body = {{"backup-data-path", "r1/backup/1/data/test"},
               {"source-name", "nope"},
               {"destination-name", "c1"}};
  r = inst->Post("/v1/restore/full", body.dump());
  EXPECT_EQ(r->status, 400) << "ABS's answer, which its clients take as final: " << r->body;
  EXPECT_NE(r->body.find("source-name: no storage named 'nope'"), std::string::npos) << r->body;
  r = inst->Post("/v1/backups/full/unknown");
  EXPECT_EQ(r->status, 404);
  r = inst->Get("/v1/backups/full/unknown");
  EXPECT_EQ(r->status, 404);
  r = inst->Get("/v1/backups/full/r1?from=yesterday");
  EXPECT_EQ(r->status, 400);
  r = inst->Get("/v1/restore/status/12345");
  EXPECT_EQ(r->status, 404);
  r = inst->Get("/v1/restore/status/abc");
  EXPECT_EQ(r->status, 400);
  r = inst->Post("/v1/backups/cancel/r1");
  EXPECT_EQ(r->status, 404);  // nothing running
  r = inst->Post("/v1/restore/cancel/999");
  EXPECT_EQ(r->status, 404);
  r = inst->Get("/v1/restore/jobs?status=sleeping");
  EXPECT_EQ(r->status, 400);
  r = inst->Post("/v1/backups/full/r1?delay=86400001");
  EXPECT_EQ(r->status, 400);
  // A body nested deep enough to exhaust the stack is refused before it is parsed.
  r = inst->Put("/v1/config", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("nests deeper"), std::string::npos);
  // No incremental before the first full.
  r = inst->Post("/v1/backups/incremental/r1");
  EXPECT_EQ(r->status, 409);
  EXPECT_NE(r->body.find("no finished full"), std::string::npos);
}

TEST_F(ServiceTest, CancelMidBackupLeavesNothingListed) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  Json doc = BaseConfig();
  doc["backup-policies"]["p1"]["records-per-second"] = 2000;  // ten seconds at least
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  for (int i = 0; i < 100; ++i) {
    auto j = Json::parse(inst->Get("/v1/backups/currentBackup/r1")->body);
    if (j.contains("full") && j["full"]["done-records"].get<uint64_t>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Files exist mid-backup...
  EXPECT_TRUE(fs::exists(dir_ / "storage" / "r1" / "backup"));
  auto r = inst->Post("/v1/backups/cancel/r1");
  EXPECT_EQ(r->status, 202);
  inst->WaitIdle("r1");
  // ...and none afterwards: nothing listed, no directory left.
  EXPECT_EQ(Json::parse(inst->Get("/v1/backups/full/r1")->body).size(), 0u);
  bool left = false;
  if (fs::exists(dir_ / "storage" / "r1" / "backup")) {
    for (auto& e : fs::recursive_directory_iterator(dir_ / "storage" / "r1" / "backup")) {
      left = left || e.is_regular_file();
    }
  }
  EXPECT_FALSE(left);
  EXPECT_NE(inst->Get("/metrics")->body.find("outcome=\"canceled\""), std::string::npos);
}

TEST_F(ServiceTest, ConfigEditsAreValidatedPersistedAndApplied) {
  Json doc = BaseConfig();
  doc["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"}, {"password", "hunter2"}};
  // ABS 3.7's way of showing secrets (the default shows them as written: the Kubernetes
  // operator's contract test covers that).
  doc["service"]["config-secrets"] = "redacted";
  // The devcluster has no security, so credentials would fail a backup; this test only
  // edits configuration.
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  auto r = inst->Get("/v1/config");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body.find("hunter2"), std::string::npos);
  Json got = Json::parse(r->body);
  EXPECT_EQ(got["aerospike-clusters"]["c1"]["credentials"]["password"], "[secret]");

  // An invalid routine is rejected and the old config stays in force, on disk too.
  std::string before_file;
  {
    std::ifstream in(inst->config_path);
    before_file.assign(std::istreambuf_iterator<char>(in), {});
  }
  Json bad = got;
  bad["backup-routines"]["r1"]["interval-cron"] = "every day at noon";
  r = inst->Put("/v1/config", bad.dump());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("backup-routines.r1.interval-cron"), std::string::npos) << r->body;
  EXPECT_EQ(inst->service->config()->routines.at("r1").interval_cron.text(), "@yearly");
  {
    std::ifstream in(inst->config_path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), before_file);
  }
  // A body that is not a whole configuration is refused and wipes nothing (null was once
  // taken for "empty" and saved as {}).
  for (const char* body : {"null", "[]", "\"text\"", "42"}) {
    r = inst->Put("/v1/config", body);
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(r->body.find("must be a JSON object"), std::string::npos) << r->body;
    EXPECT_EQ(inst->service->config()->routines.count("r1"), 1u) << body;
    std::ifstream in(inst->config_path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), before_file) << body;
  }
  r = inst->Post("/v1/config/routines/r2",
                 R"({"interval-cron": "@daily", "source-cluster": "c1", "storage": "gone",
                     "namespaces": []})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("no storage named 'gone'"), std::string::npos);

  // A valid PUT of what GET returned keeps the secret and persists.
  got["backup-routines"]["r1"]["interval-cron"] = "0 0 3 * * ?";
  r = inst->Put("/v1/config", got.dump());
  EXPECT_EQ(r->status, 200) << r->body;
  auto on_disk = LoadConfigFile(inst->config_path.string());
  ASSERT_TRUE(on_disk.ok()) << on_disk.status().ToString();
  EXPECT_EQ(on_disk->routines.at("r1").interval_cron.text(), "0 0 3 * * ?");
  EXPECT_EQ(on_disk->clusters.at("c1").password, "hunter2");
  // The file it replaced is kept beside it, to undo the edit with.
  {
    std::ifstream in(inst->config_path.string() + ".bak");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), before_file);
  }

  // Concurrent edits of different entries both land.
  {
    std::vector<std::thread> editors;
    std::vector<int> codes(8);
    for (int i = 0; i < 8; ++i) {
      editors.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", inst->api->port());
        Json st = {{"local-storage", {{"path", (dir_ / ("s" + std::to_string(i))).string()}}}};
        auto res = c.Post(("/v1/config/storage/s" + std::to_string(i)).c_str(), st.dump(),
                          "application/json");
        codes[i] = res ? res->status : 0;
      });
    }
    for (auto& t : editors)
      t.join();
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(codes[i], 201);
    auto storage = Json::parse(inst->Get("/v1/config/storage")->body);
    for (int i = 0; i < 8; ++i)
      EXPECT_TRUE(storage.contains("s" + std::to_string(i)));
    EXPECT_EQ(LoadConfigFile(inst->config_path.string())->storage.size(), 9u);
  }

  // Entity CRUD.
  r = inst->Post("/v1/config/routines/r2",
                 R"({"interval-cron": "@daily", "source-cluster": "c1", "storage": "shared",
                     "namespaces": [], "rack-list": [1]})");
  EXPECT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(inst->Post("/v1/config/routines/r2", R"({})")->status, 409);
  EXPECT_EQ(inst->Get("/v1/config/routines/r2")->status, 200);
  EXPECT_EQ(inst->Get("/v1/config/routines/zzz")->status, 404);
  EXPECT_EQ(inst->http->Delete("/v1/config/storage/shared")->status, 409);  // in use
  EXPECT_EQ(inst->Put("/v1/config/routines/r2/disable", "")->status, 204);
  EXPECT_TRUE(inst->service->config()->routines.at("r2").disabled);
  EXPECT_EQ(inst->http->Delete("/v1/config/routines/r2")->status, 204);
  EXPECT_EQ(inst->Get("/v1/config/routines/r2")->status, 404);
  EXPECT_FALSE(LoadConfigFile(inst->config_path.string())->routines.count("r2"));
}

TEST_F(ServiceTest, IncrementalsAndTimestampRestore) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(Load(*client_, 1000, "v2").ok());  // the first 1000 records change
  ASSERT_EQ(inst->Post("/v1/backups/incremental/r1")->status, 202);
  inst->WaitIdle("r1");
  auto incr = Json::parse(inst->Get("/v1/backups/incremental/r1")->body);
  ASSERT_EQ(incr.size(), 1u);
  EXPECT_EQ(incr[0]["record-count"], 1000);
  int64_t after_incr = incr[0]["finished-timestamp"].get<int64_t>() + 1;

  ASSERT_TRUE(client_->Truncate("test", "").ok());
  // The guide's form: POST /v1/restore/<ISO time> with the time as a numeric string.
  Json body = {
      {"routine", "r1"}, {"time", std::to_string(after_incr)}, {"policy", {{"parallel", 2}}}};
  auto r = inst->Post("/v1/restore/2030-01-01T00:00:00Z", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  Json status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(status["read-records"], kRecords + 1000);
  EXPECT_EQ(Count(*client_, "v2"), std::make_pair(kRecords, uint64_t{1000}));

  // Before the incremental: only the full backup.
  ASSERT_TRUE(client_->Truncate("test", "").ok());
  body["time"] = incr[0]["timestamp"].get<int64_t>() - 1;
  r = inst->Post("/v1/restore/timestamp", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(Count(*client_, "v2"), std::make_pair(kRecords, uint64_t{0}));
}

// The scheduler on a fake clock: hours of calendar pass in moments, and each fire time
// gives exactly one backup, named by the time it fired; a disabled routine fires no more.
TEST_F(ServiceTest, TheSchedulerRunsRoutinesOnTheirCron) {
  ASSERT_TRUE(Load(*client_, 1000, "v1").ok());
  FakeClock clock;
  const int64_t start = 1764496800000;  // 2025-11-30T10:00:00Z
  clock.SetUnixMillis(start - 1000);
  Json doc = BaseConfig();
  doc["backup-routines"]["r1"]["interval-cron"] = "0 0 * * * ?";  // on the hour
  auto inst = StartInstance(doc, "a", &clock);
  ASSERT_TRUE(inst);
  auto j = Json::parse(inst->Get("/v1/backups/currentBackup/r1")->body);
  ASSERT_TRUE(j.contains("next-full")) << j.dump();
  EXPECT_EQ(j["next-full"], "2025-11-30T10:00:00.000Z") << j.dump();
  auto listed = [&] { return Json::parse(inst->Get("/v1/backups/full/r1")->body); };
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 2000 && listed().size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    inst->WaitIdle("r1");
    return listed().size();
  };
  EXPECT_EQ(listed().size(), 0u) << "nothing fires before its time";
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(wait_for(1), 1u);
  clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(wait_for(2), 2u);
  Json backups = listed();
  ASSERT_EQ(backups.size(), 2u);
  std::set<std::string> keys;
  for (const auto& b : backups)
    keys.insert(b["key"].get<std::string>());
  EXPECT_TRUE(keys.count("r1/backup/" + std::to_string(start) + "/data/test")) << backups.dump();
  EXPECT_TRUE(keys.count("r1/backup/" + std::to_string(start + 3600000) + "/data/test"))
      << backups.dump();
  // Disabled: no next fire time, and however long passes, no more backups.
  ASSERT_EQ(inst->Put("/v1/config/routines/r1/disable", "")->status, 204);
  inst->WaitIdle("r1");
  j = Json::parse(inst->Get("/v1/backups/currentBackup/r1")->body);
  EXPECT_FALSE(j.contains("next-full")) << j.dump();
  clock.Advance(std::chrono::hours(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  inst->WaitIdle("r1");
  EXPECT_EQ(listed().size(), 2u);
}

TEST_F(ServiceTest, AbsdRefusesBadConfigsAndLogsJsonToAFile) {
  std::string absd = testing::SiblingBinary("absd");
  fs::path bad = dir_ / "bad.yml";
  std::ofstream(bad)
      << "service:\n  http:\n    port: 99999\nbackup-routines:\n  r:\n    colour: 1\n";
  std::string cmd = absd + " -c " + bad.string() + " 2>" + (dir_ / "err.txt").string();
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  std::ifstream err(dir_ / "err.txt");
  std::string text((std::istreambuf_iterator<char>(err)), {});
  EXPECT_NE(text.find("service.http.port: must be 1..65535"), std::string::npos) << text;
  EXPECT_NE(text.find("backup-routines.r.colour: unknown field"), std::string::npos) << text;

  const int port = FreeLocalPort();
  ASSERT_GT(port, 0);
  Json doc = BaseConfig();
  doc["service"]["http"]["port"] = port;
  doc["service"]["logger"] = {
      {"level", "INFO"},
      {"format", "JSON"},
      {"stdout-writer", false},
      {"file-writer",
       {{"filename", (dir_ / "absd.log").string()}, {"maxage", 7}, {"compress", true}}}};
  fs::path good = dir_ / "good.yml";
  std::ofstream(good) << JsonToYaml(doc);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(absd.c_str(), absd.c_str(), "-c", good.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  httplib::Client http("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    auto r = http.Get("/health");
    up = r && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(up);
  auto posted = http.Post("/v1/backups/full/r1");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 202);
  for (int i = 0; i < 100; ++i) {
    auto r = http.Get("/v1/backups/currentBackup/r1");
    ASSERT_TRUE(r);
    if (!Json::parse(r->body).contains("full")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  reaper.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream log(dir_ / "absd.log");
  std::string line;
  int lines = 0, listening = 0;
  while (std::getline(log, line)) {
    auto j = Json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (j.is_discarded()) continue;
    ++lines;
    listening += j["msg"].get<std::string>().find("listening") != std::string::npos;
  }
  EXPECT_GE(lines, 3);
  EXPECT_EQ(listening, 1);
}

TEST_F(ServiceTest, InterruptedJobsAreCleanedUpAtStartup) {
  Json doc = BaseConfig();
  auto storage = storage::OpenLocalStorage((dir_ / "storage").string());
  ASSERT_TRUE(storage.ok());
  // What a crash leaves: our run's partial files, and another instance's run in progress.
  ASSERT_TRUE((*storage)->PutAtomic("r1/backup/1700000000000/data/test/0_test_1.asb", "x").ok());
  ASSERT_TRUE((*storage)->PutAtomic("r1/backup/1700000000001/data/test/0_test_1.asb", "y").ok());
  {
    auto jobs = JobStore::Open((dir_ / "a" / "state").string());
    ASSERT_TRUE(jobs.ok());
    JobRecord j;
    j.id = 77;
    j.kind = JobKind::kBackup;
    j.routine = "r1";
    j.type = JobType::kFull;
    j.status = JobStatus::kRunning;
    j.started_ms = 1700000000000;
    j.detail = {{"storage-path", (dir_ / "storage").string()},
                {"run-directory", "r1/backup/1700000000000"},
                {"directories", {"r1/backup/1700000000000/data/test"}}};
    ASSERT_TRUE((*jobs)->Insert(j).ok());
    // A sibling sharing this history wrote job 79 into its own storage, also named
    // "shared" but somewhere else: never this instance's to resume or clean up.
    j.id = 79;
    j.detail = {{"storage", "shared"},
                {"storage-path", (dir_ / "other").string()},
                {"storage-location", (dir_ / "other").string()},
                {"run-directory", "r1/backup/1700000000001"},
                {"directories", {"r1/backup/1700000000001/data/test"}}};
    ASSERT_TRUE((*jobs)->Insert(j).ok());
  }
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  EXPECT_FALSE(fs::exists(dir_ / "storage" / "r1" / "backup" / "1700000000000"));
  EXPECT_TRUE(fs::exists(dir_ / "storage/r1/backup/1700000000001/data/test/0_test_1.asb"));
  inst.reset();
  auto jobs = JobStore::Open((dir_ / "a" / "state").string());
  auto j = (*jobs)->Get(77);
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->status, JobStatus::kFailure);
  EXPECT_NE((*j)->detail["error"].get<std::string>().find("interrupted"), std::string::npos);
  auto other = (*jobs)->Get(79);
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->status, JobStatus::kRunning) << "left for the instance that has its storage";
}

// The crash campaign on absd, at a size CI affords (ABS_CAMPAIGN_RECORDS and
// ABS_CAMPAIGN_KILLS for more): absd is stopped at random moments of a full backup of a
// 3-node cluster (kill -9, SIGTERM, or kill -9 leaving a zombie) and started again each
// time; it resumes the backup from its checkpoints. The one backup that results verifies
// as complete and holds every record exactly once: its files' counts add up to the
// namespace, and a restore gives each one back.
TEST_F(ServiceTest, AbsdKilledAtRandomMomentsResumesItsBackupToAWholeOne) {
  auto env_or = [](const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v ? std::strtoull(v, nullptr, 10) : fallback;
  };
  const uint64_t n = env_or("ABS_CAMPAIGN_RECORDS", 40000);
  const uint64_t kills = env_or("ABS_CAMPAIGN_KILLS", 20);
  ASSERT_TRUE(Load(*client_, n, "campaign").ok());
  const int port = FreeLocalPort();
  ASSERT_GT(port, 0);
  Json doc = BaseConfig();
  doc["service"]["http"]["port"] = port;
  doc["service"]["logger"] = {{"level", "INFO"},
                              {"stdout-writer", false},
                              {"file-writer", {{"filename", (dir_ / "absd.log").string()}}}};
  // About ten seconds of scanning in all, in files of 1 MiB: the kills land all through.
  doc["backup-policies"]["p1"]["file-limit"] = 1;
  doc["backup-policies"]["p1"]["records-per-second"] = std::max<uint64_t>(1000, n / 10);
  fs::path config = dir_ / "absd.yml";
  std::ofstream(config) << JsonToYaml(doc);
  AbsdProcess absd(config, (dir_ / "state").string(), port);
  httplib::Client& http = *absd.http;
  auto start = [&] { return absd.Start(); };
  auto wait_up = [&] { return absd.WaitUp(); };
  auto running = [&] { return absd.BackupRunning(); };
  auto finished = [&] {
    auto listed = storage::OpenLocalStorage((dir_ / "storage").string());
    if (!listed.ok()) return false;
    auto all = (*listed)->List("r1/backup/");
    if (!all.ok()) return false;
    for (const auto& o : *all)
      if (o.path.ends_with("/data/test/metadata.yaml")) return true;
    return false;
  };
  auto checkpointed = [&] {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_ / "storage", ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == backupset::kCheckpointFile) return true;
    }
    return false;
  };
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  // Each stop is one of: kill -9; a graceful SIGTERM (absd must exit by itself, in time,
  // keeping the run resumable); kill -9 with the process left a zombie (not reaped) until
  // the next absd is up, which must not take it for a live owner.
  enum Stop { kKill, kTerm, kZombie };
  const char* kStopNames[] = {"kill -9", "SIGTERM", "kill -9 left a zombie"};
  uint64_t runs = 0, killed = 0, resumed = 0, triggered = 0, terms = 0, zombies = 0;
  uint64_t stops_with_checkpoint = 0, resumed_after_those = 0;
  pid_t zombie = -1;
  Stop last = kKill;
  bool last_had_checkpoint = false;
  for (uint64_t i = 0; i < kills && !finished(); ++i) {
    const bool had_checkpoint = checkpointed();
    pid_t pid = start();
    ASSERT_GT(pid, 0);
    ++runs;
    ASSERT_TRUE(wait_up()) << "absd did not come up";
    if (zombie > 0) {
      waitpid(zombie, nullptr, 0);
      zombie = -1;
    }
    const bool resumed_now = running();
    if (!resumed_now && !finished()) {
      // A kill before the job was recorded leaves nothing to resume: start one.
      auto posted = http.Post("/v1/backups/full/r1");
      ASSERT_TRUE(posted);
      ++triggered;
    } else if (had_checkpoint) {
      ++resumed;
    }
    if (i > 0 && last != kKill && last_had_checkpoint) {
      ++stops_with_checkpoint;
      if (resumed_now || finished()) ++resumed_after_those;
      EXPECT_TRUE(resumed_now || finished())
          << "the run kept by the last stop (" << kStopNames[last] << ") did not resume";
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 900)(rng)));
    if (i % 5 == 1) {
      // What log rotation sends: absd keeps serving.
      kill(absd.pid, SIGHUP);
      kill(absd.pid, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      ASSERT_TRUE(wait_up()) << "absd did not survive SIGHUP and SIGUSR1";
    }
    last = static_cast<Stop>(i % 3);
    last_had_checkpoint = checkpointed();
    if (last == kTerm) {
      kill(absd.pid, SIGTERM);
      int status = absd.WaitExit(std::chrono::seconds(30));
      ASSERT_NE(status, -1) << "absd did not stop within 30 s of SIGTERM";
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
      ++terms;
    } else if (last == kZombie) {
      zombie = absd.pid;
      kill(zombie, SIGKILL);
      absd.pid = -1;
      for (int w = 0; w < 2000; ++w) {  // until the kernel shows it as a zombie
        std::ifstream stat("/proc/" + std::to_string(zombie) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), {});
        size_t at = text.rfind(')');
        if (at != std::string::npos && at + 2 < text.size() && text[at + 2] == 'Z') break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ++zombies;
    } else {
      absd.Kill(SIGKILL);
    }
    ++killed;
  }
  // The last run is left to finish.
  ASSERT_GT(start(), 0);
  ++runs;
  ASSERT_TRUE(wait_up());
  if (!running() && !finished()) {
    ASSERT_TRUE(http.Post("/v1/backups/full/r1"));
  }
  for (int i = 0; i < 1200 && running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(running()) << "the backup ended";
  if (zombie > 0) waitpid(zombie, nullptr, 0);
  std::printf(
      "absd campaign: %llu records, %llu runs, %llu stopped (%llu by SIGTERM, %llu left "
      "zombies), %llu resumed from a checkpoint (%llu of %llu after SIGTERM or a zombie), %llu "
      "triggered (the first, and any whose absd was killed before its job was recorded)\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(killed), static_cast<unsigned long long>(terms),
      static_cast<unsigned long long>(zombies), static_cast<unsigned long long>(resumed),
      static_cast<unsigned long long>(resumed_after_those),
      static_cast<unsigned long long>(stops_with_checkpoint),
      static_cast<unsigned long long>(triggered));
  EXPECT_GE(resumed, killed / 2) << "most restarts resumed from a checkpoint";

  auto listing = http.Get("/v1/backups/full/r1");
  ASSERT_TRUE(listing && listing->status == 200);
  Json backups = Json::parse(listing->body);
  ASSERT_EQ(backups.size(), 1u) << "one backup, nothing left over: " << listing->body;
  auto local = storage::OpenLocalStorage((dir_ / "storage").string());
  ASSERT_TRUE(local.ok());
  std::string key = backups[0]["key"].get<std::string>();
  auto v = backup::Verify({{local->get(), key}});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->complete()) << v->Format();
  auto manifest_text = (*local)->ReadAll(key + "/" + backupset::kManifestFile);
  ASSERT_TRUE(manifest_text.ok());
  auto manifest = backupset::ParseManifestJson(*manifest_text);
  ASSERT_TRUE(manifest.ok());
  uint64_t in_files = 0;
  for (const auto& f : manifest->files)
    in_files += f.records;
  EXPECT_EQ(in_files, n) << "records doubled: " << (in_files > n ? in_files - n : 0)
                         << ", lost: " << (in_files < n ? n - in_files : 0);
  auto leftovers = (*local)->List("r1/");
  ASSERT_TRUE(leftovers.ok());
  for (const auto& o : *leftovers)
    EXPECT_EQ(o.path.find(backupset::kCheckpointFile), std::string::npos) << o.path;

  ASSERT_TRUE(client_->Truncate("test", "").ok());
  restore::RestoreOptions ro;
  ro.directories = {key};
  restore::RestoreCounters counters;
  Status restored = restore::RunRestore(*client_, **local, ro, counters);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_EQ(counters.read.load(), n);
  auto [all, tagged] = Count(*client_, "campaign");
  EXPECT_EQ(all, n);
  EXPECT_EQ(tagged, n);
}

// Crash recovery on cloud storage: the interrupted run's partial objects go (found
// through the storage block the job names), another run's stay.
TEST_F(ServiceTest, InterruptedJobsOnCloudStorageAreCleanedUpAtStartup) {
  int64_t id = 78;
  for (const std::string kind : {"s3", "gcs", "azure"}) {
    SCOPED_TRACE(kind);
    auto cloud = StartCloud(kind, dir_ / ("cloud-" + kind), "crash");
    ASSERT_TRUE(cloud.ok()) << cloud.status().ToString();
    Json doc = BaseConfig();
    doc["storage"]["shared"] = cloud->block;
    auto bucket = storage::OpenStorage(cloud->spec);
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    ASSERT_TRUE((*bucket)->PutAtomic("r1/backup/1700000000000/data/test/0_test_1.asb", "x").ok());
    ASSERT_TRUE((*bucket)->PutAtomic("r1/backup/1700000000001/data/test/0_test_1.asb", "y").ok());
    {
      auto jobs = JobStore::Open((dir_ / kind / "state").string());
      ASSERT_TRUE(jobs.ok());
      JobRecord j;
      j.id = ++id;
      j.kind = JobKind::kBackup;
      j.routine = "r1";
      j.type = JobType::kFull;
      j.status = JobStatus::kRunning;
      j.started_ms = 1700000000000;
      j.detail = {{"storage", "shared"},
                  {"run-directory", "r1/backup/1700000000000"},
                  {"directories", {"r1/backup/1700000000000/data/test"}}};
      ASSERT_TRUE((*jobs)->Insert(j).ok());
    }
    auto inst = StartInstance(doc, kind);
    ASSERT_TRUE(inst);
    EXPECT_FALSE(*(*bucket)->Exists("r1/backup/1700000000000"));
    EXPECT_TRUE(*(*bucket)->Exists("r1/backup/1700000000001/data/test/0_test_1.asb"));
  }
}

// The REST restore follows the manifest too: a damaged or missing file fails the job
// (never "success"), salvage restores what is intact and lists what it left out, and the
// counters add up whatever happened.
TEST_F(ServiceTest, RestoresThroughTheApiRefuseDamagedBackups) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  auto dirs = FinishedBackupDirs("r1");
  ASSERT_EQ(dirs.size(), 1u);
  const fs::path backup_dir = dirs[0];
  const std::string key = fs::relative(backup_dir, dir_ / "storage").string();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(backup_dir)) {
    if (e.path().extension() == ".asb") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 2u);
  const fs::path victim = files[1];
  const std::string victim_name = victim.filename().string();

  auto restore = [&](bool salvage) {
    EXPECT_TRUE(client_->Truncate("test", "").ok());
    Json body = {{"backup-data-path", key},
                 {"source-name", "shared"},
                 {"destination-name", "c1"},
                 {"policy", {{"parallel", 2}, {"salvage", salvage}}}};
    auto r = inst->Post("/v1/restore/full", body.dump());
    EXPECT_EQ(r->status, 202) << r->body;
    Json status = inst->WaitRestore(Json::parse(r->body).get<int64_t>());
    EXPECT_TRUE(CountersAddUp(status)) << status.dump();
    return status;
  };

  // One character changed in the middle of a file.
  std::string text;
  {
    std::ifstream in(victim, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string original = text;
  size_t at = text.find("\n- ", text.size() / 2);
  ASSERT_NE(at, std::string::npos);
  at = text.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", at + 20);
  text[at] = text[at] == 'A' ? 'B' : 'A';
  std::ofstream(victim, std::ios::binary | std::ios::trunc) << text;
  Json status = restore(false);
  EXPECT_EQ(status["status"], "failure") << status.dump();
  EXPECT_NE(status["error"].get<std::string>().find(victim_name), std::string::npos)
      << status.dump();
  EXPECT_NE(status["error"].get<std::string>().find("does not match its SHA-256"),
            std::string::npos);
  status = restore(true);
  EXPECT_EQ(status["status"], "success") << status.dump();
  ASSERT_EQ(status["skipped"].size(), 1u) << status.dump();
  EXPECT_NE(status["skipped"][0].get<std::string>().find(victim_name), std::string::npos);
  EXPECT_LT(status["inserted-records"].get<uint64_t>(), kRecords);
  EXPECT_EQ(Count(*client_, "v1").first, status["inserted-records"].get<uint64_t>());

  // The file gone: refused before anything is written.
  fs::remove(victim);
  status = restore(false);
  EXPECT_EQ(status["status"], "failure") << status.dump();
  EXPECT_NE(status["error"].get<std::string>().find("missing"), std::string::npos);
  EXPECT_EQ(status["read-records"], 0u);
  EXPECT_EQ(Count(*client_, "v1").first, 0u);

  // Back as it was, plus a stray file: restored in full, the stray one named and ignored.
  std::ofstream(victim, std::ios::binary) << original;
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  fs::copy_file(victim, backup_dir / "7_test_99.asb");
  status = restore(false);
  EXPECT_EQ(status["status"], "success") << status.dump();
  EXPECT_EQ(status["inserted-records"], kRecords);
  EXPECT_NE(status["warnings"].dump().find("ignoring 7_test_99.asb"), std::string::npos)
      << status.dump();

  // A run directory whose other namespace did not finish: the restore of the run refuses
  // it by name rather than restoring the finished namespace alone.
  const fs::path unfinished = backup_dir.parent_path() / "other";
  fs::create_directories(unfinished);
  std::ofstream(unfinished / "abs-start.json") << "{}";
  fs::copy_file(files[0], unfinished / "0_other_1.asb");
  EXPECT_TRUE(client_->Truncate("test", "").ok());
  Json run_body = {
      {"backup-data-path",
       fs::relative(backup_dir.parent_path().parent_path(), dir_ / "storage").string()},
      {"source-name", "shared"},
      {"destination-name", "c1"}};
  auto posted = inst->Post("/v1/restore/full", run_body.dump());
  ASSERT_EQ(posted->status, 202) << posted->body;
  status = inst->WaitRestore(Json::parse(posted->body).get<int64_t>());
  EXPECT_EQ(status["status"], "failure") << status.dump();
  EXPECT_NE(status["error"].get<std::string>().find("data/other: the backup did not finish"),
            std::string::npos)
      << status.dump();
  EXPECT_EQ(Count(*client_, "v1").first, 0u);
}

// While a restore runs, the history holds its counters: a kill would leave them there.
// Cancelled, its counters still add up; and one routine on storage abs cannot open does
// not hide the other routines' backups.
TEST_F(ServiceTest, RestoreProgressIsKeptAndListingsSurviveABadRoutine) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  Json doc = BaseConfig();
  doc["storage"]["cloud"] = {{"s3-storage", {{"bucket", "b"}, {"s3-region", "eu-west-1"}}}};
  doc["backup-routines"]["elsewhere"] = doc["backup-routines"]["r1"];
  doc["backup-routines"]["elsewhere"]["storage"] = "cloud";
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  // The all-routines answer is a map of lists (ABS's type): a routine whose storage fails
  // fails the answer, naming the routine, and the routine's own list still answers.
  auto r = inst->Get("/v1/backups/full");
  ASSERT_EQ(r->status, 500) << r->body;
  EXPECT_NE(r->body.find("routine 'elsewhere'"), std::string::npos) << r->body;
  r = inst->Get("/v1/backups/full/r1");
  ASSERT_EQ(r->status, 200) << r->body;
  Json r1 = Json::parse(r->body);
  EXPECT_EQ(r1.size(), 1u) << r->body;

  Json body = {{"backup-data-path", r1[0]["key"]},
               {"source-name", "shared"},
               {"destination-name", "c1"},
               {"policy", {{"parallel", 1}, {"tps", 3000}}}};
  r = inst->Post("/v1/restore/full", body.dump());
  ASSERT_EQ(r->status, 202) << r->body;
  int64_t id = Json::parse(r->body).get<int64_t>();
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  {
    auto jobs = JobStore::Open((dir_ / "a" / "state").string());
    ASSERT_TRUE(jobs.ok());
    auto row = (*jobs)->Get(id);
    ASSERT_TRUE(row.ok() && row->has_value());
    EXPECT_EQ((*row)->status, JobStatus::kRunning);
    EXPECT_GT((*row)->detail.value("read-records", uint64_t{0}), 0u) << (*row)->detail.dump();
  }
  EXPECT_EQ(inst->Post("/v1/restore/cancel/" + std::to_string(id))->status, 202);
  Json status = inst->WaitRestore(id);
  EXPECT_EQ(status["status"], "canceled") << status.dump();
  EXPECT_TRUE(CountersAddUp(status)) << status.dump();
  EXPECT_LT(status["read-records"].get<uint64_t>(), kRecords);
}

// A raw connection to the API: sends `request`, reads until the server closes or `wait`
// passes, and says whether the server closed it.
struct RawExchange {
  std::string received;
  bool closed = false;
};
int ConnectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
RawExchange Exchange(int port, const std::string& request, std::chrono::seconds wait) {
  RawExchange out;
  int fd = ConnectTo(port);
  if (fd < 0) return out;
  timeval tv{static_cast<time_t>(wait.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!::write(fd, request.data(), request.size());
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) out.closed = true;
    if (n <= 0) break;
    out.received.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// A raw connection to the API that stays open: sends bytes, and reads what comes back.
struct RawConnection {
  int fd;
  std::string received;
  bool closed = false;

  explicit RawConnection(int port) : fd(ConnectTo(port)) {}
  ~RawConnection() {
    if (fd >= 0) ::close(fd);
  }
  void Send(std::string_view bytes) { (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  size_t Count(std::string_view needle) const {
    size_t n = 0;
    for (size_t at = received.find(needle); at != std::string::npos;
         at = received.find(needle, at + 1))
      ++n;
    return n;
  }
  // Reads until `needle` has arrived `times` times, the server closes, or `wait` passes.
  bool WaitFor(std::string_view needle, size_t times, std::chrono::milliseconds wait) {
    auto until = std::chrono::steady_clock::now() + wait;
    while (Count(needle) < times && !closed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      received.append(buf, static_cast<size_t>(n));
    }
    return Count(needle) >= times;
  }
  bool WaitClosed(std::chrono::milliseconds wait) {
    WaitFor("\x01never\x01", 1, wait);
    return closed;
  }
};

// The process's open-file limit raised to its hard limit (for tests that hold many
// connections); at least `need` is required.
bool RaiseOpenFileLimit(rlim_t need) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur >= need;
}

// Idle, slow and half-sent connections never starve other requests: 1,000 of them from
// one address (more than its cap of 256) while /health must answer within a second.
TEST_F(ServiceTest, TheApiWithstandsIdleAndHalfSentConnections) {
  if (!RaiseOpenFileLimit(4096)) GTEST_SKIP() << "needs 4096 open files";
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  const int port = inst->api->port();
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 1000; ++i) {
    flood.push_back(std::make_unique<RawConnection>(port));
    ASSERT_GE(flood.back()->fd, 0);
    if (i % 2 == 1) flood.back()->Send("GET /health HTTP/1.1\r\nHo");  // stops halfway
    if (i % 200 == 199) {
      auto r = Exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(1));
      EXPECT_NE(r.received.find("200 OK"), std::string::npos)
          << "after " << i + 1 << ": " << r.received;
    }
  }
  // The server holds at most 256 of them (the cap per client address): the connections
  // that waited longest were closed to make room.
  RawConnection last(port);
  last.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(last.WaitFor("200 OK", 1, std::chrono::seconds(1))) << last.received;
  auto counters = inst->api->connection_counters();
  EXPECT_LE(counters.open, 257u);
  EXPECT_GE(counters.evicted, 1000u - 256u);
  EXPECT_TRUE(flood.front()->WaitClosed(std::chrono::seconds(1)));
  // Fresh requests keep working on a connection that stays open.
  last.Send("GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(last.WaitFor("200 OK", 2, std::chrono::seconds(1))) << last.received;
}

// Deadlines, pipelining, bodies and framing errors on raw connections.
TEST_F(ServiceTest, TheApiAnswersPipelinedRequestsInOrderAndRefusesBadFraming) {
  Json doc = BaseConfig();
  doc["service"]["http"]["read-timeout"] = 1000;
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  const int port = inst->api->port();
  const std::string health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string version = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";

  // Three pipelined requests, the last split across two writes: three answers, in order,
  // and the connection stays open for a fourth.
  RawConnection pipe(port);
  pipe.Send(health + version + health.substr(0, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pipe.Send(health.substr(10));
  ASSERT_TRUE(pipe.WaitFor("HTTP/1.1 200", 3, std::chrono::seconds(2))) << pipe.received;
  size_t ok1 = pipe.received.find("\r\n\r\nOk");
  size_t ver = pipe.received.find("\"version\"");
  size_t ok2 = pipe.received.rfind("\r\n\r\nOk");
  EXPECT_TRUE(ok1 < ver && ver < ok2) << pipe.received;
  pipe.Send(version);
  EXPECT_TRUE(pipe.WaitFor("\"version\"", 2, std::chrono::seconds(2))) << pipe.received;
  EXPECT_FALSE(pipe.closed);

  // A POST without a body is answered at once.
  RawConnection no_body(port);
  no_body.Send("POST /v1/restore/full HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(no_body.WaitFor("411", 1, std::chrono::seconds(1))) << no_body.received;

  // Expect: 100-continue gets one interim answer before the body, then the real one.
  RawConnection asks(port);
  asks.Send(
      "POST /v1/restore/full HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 2\r\n\r\n");
  ASSERT_TRUE(asks.WaitFor("100 Continue", 1, std::chrono::seconds(1))) << asks.received;
  asks.Send("{}");
  ASSERT_TRUE(asks.WaitFor("HTTP/1.1 400", 1, std::chrono::seconds(2))) << asks.received;
  EXPECT_EQ(asks.Count("100 Continue"), 1u) << asks.received;

  // A chunked body arrives whole: the handler sees the JSON (and names what is missing).
  RawConnection chunked(port);
  chunked.Send(
      "POST /v1/restore/full HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\n{\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  chunked.Send("1\r\n}\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.WaitFor("HTTP/1.1 400", 1, std::chrono::seconds(2))) << chunked.received;
  EXPECT_EQ(chunked.received.find("JSON body"), std::string::npos) << chunked.received;

  // Framing errors: answered with the reason, and the connection ends.
  struct Case {
    std::string request, status, reason;
  };
  for (const Case& c : std::vector<Case>{
           {"PUT /v1/config HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", "413", "larger than"},
           {"PUT /v1/config HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "400", "not a number"},
           {"PUT /v1/config HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", "400",
            "two different"},
           {"PUT /v1/config HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501", "not supported"},
           {"PUT /v1/config HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}", "400", "malformed header"},
           {"GET /health HTTP/1.1\r\nX: " + std::string(70000, 'a'), "431", "larger than"},
           // A request line that httplib alone would answer with a bare 400, keeping the
           // connection.
           {"GARBAGE\r\n\r\n", "400", "malformed request line"},
           {"GET / HTTP/9.9\r\nHost: x\r\n\r\n", "505", "not supported"},
       }) {
    RawConnection bad(port);
    bad.Send(c.request);
    EXPECT_TRUE(bad.WaitFor(c.reason, 1, std::chrono::seconds(2))) << c.request.substr(0, 80);
    EXPECT_NE(bad.received.find("HTTP/1.1 " + c.status), std::string::npos) << bad.received;
    EXPECT_TRUE(bad.WaitClosed(std::chrono::seconds(3))) << bad.received;
  }

  // A request that stops halfway is told so at its deadline (read-timeout, 1 s) and closed;
  // an idle connection is closed at the idle deadline.
  RawConnection half(port);
  half.Send("GET /health HTTP/1.1\r\nHo");
  EXPECT_TRUE(half.WaitFor("408", 1, std::chrono::seconds(4))) << half.received;
  EXPECT_TRUE(half.WaitClosed(std::chrono::seconds(1)));
  RawConnection idle(port);
  EXPECT_TRUE(idle.WaitClosed(std::chrono::seconds(8)));
  EXPECT_TRUE(idle.received.empty()) << idle.received;
  EXPECT_GE(inst->api->connection_counters().timed_out, 1u);
  auto metrics = inst->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("abs_http_connections_dropped_total{reason=\"timed-out\"} "),
            std::string::npos);
}

// The pid of a process that has exited: an owner that is provably gone.
int64_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// Instances sharing a port, a state directory or a storage never hurt each other.
// Scale-out with auto-slice: three instances share one configuration but for the slice
// index, back up at the same time, and together make one complete, non-overlapping set.
TEST_F(ServiceTest, AutoSlicedInstancesTogetherBackUpEveryPartitionOnce) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < 3; ++i) {
    Json doc = BaseConfig();
    doc["backup-routines"]["r1"]["auto-slice"] = {{"count", 3}, {"index", i}};
    instances.push_back(StartInstance(doc, "i" + std::to_string(i)));
    ASSERT_TRUE(instances.back());
  }
  for (auto& inst : instances)
    ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  for (auto& inst : instances)
    inst->WaitIdle("r1");
  auto dirs = FinishedBackupDirs("r1");
  ASSERT_EQ(dirs.size(), 3u) << "one backup per slice";
  auto storage = storage::OpenLocalStorage((dir_ / "storage").string());
  auto report = backup::Verify({{storage->get(), "r1"}});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->complete()) << report->Format();
  uint64_t records = 0;
  for (const auto& b : Json::parse(instances[0]->Get("/v1/backups/full/r1")->body))
    records += b["record-count"].get<uint64_t>();
  EXPECT_EQ(records, kRecords) << "each record in exactly one slice's backup";
}

TEST_F(ServiceTest, SiblingInstancesNeverHurtEachOther) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  Json doc = BaseConfig();
  doc["backup-policies"]["p1"]["records-per-second"] = 10000;  // about 2 s
  auto a = StartInstance(doc, "a");
  ASSERT_TRUE(a);

  // One process per port: a second listener is refused with a clear error.
  HttpApi second(*a->service);
  Status st = second.Start("127.0.0.1", a->api->port());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("in use"), std::string::npos) << st.ToString();
  EXPECT_EQ(a->Get("/health")->status, 200);

  ASSERT_EQ(a->Post("/v1/backups/full/r1")->status, 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // A sibling started mid-backup from the same directory (same state, same storage):
  // its crash recovery leaves the running backup alone, and its trigger of the same
  // routine is refused, naming the owner.
  auto sibling = StartInstance(doc, "a");
  ASSERT_TRUE(sibling);
  auto r = sibling->Post("/v1/backups/full/r1");
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_NE(r->body.find("pid " + std::to_string(::getpid())), std::string::npos) << r->body;
  // Separate state, same storage: refused just the same.
  auto other = StartInstance(doc, "b");
  ASSERT_TRUE(other);
  r = other->Post("/v1/backups/full/r1");
  EXPECT_EQ(r->status, 409) << r->body;
  a->WaitIdle("r1");
  auto dirs = FinishedBackupDirs("r1");
  ASSERT_EQ(dirs.size(), 1u) << "one backup, not two";
  auto storage = storage::OpenLocalStorage((dir_ / "storage").string());
  auto report =
      backup::Verify({{storage->get(), fs::relative(dirs[0], dir_ / "storage").string()}});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->complete()) << report->Format();
  // With the run over, the lock is free again.
  r = other->Post("/v1/backups/full/r1");
  EXPECT_EQ(r->status, 202) << r->body;
  other->WaitIdle("r1");
  EXPECT_EQ(FinishedBackupDirs("r1").size(), 2u);
}

TEST_F(ServiceTest, InstancesInOneDirectoryWithDifferentConfigsShareTheHistory) {
  ASSERT_TRUE(Load(*client_, 2000, "v1").ok());
  Json doc_a = BaseConfig(), doc_b = BaseConfig();
  doc_b["backup-routines"]["r2"] = doc_b["backup-routines"]["r1"];
  doc_b["backup-routines"].erase("r1");
  // Both keep their history in <dir>/shared/state, as absd's default does for two
  // configuration files in one directory.
  auto start = [&](const Json& doc, const std::string& file) {
    auto inst = std::make_unique<Instance>();
    fs::create_directories(dir_ / "shared");
    inst->config_path = dir_ / "shared" / file;
    std::ofstream(inst->config_path) << JsonToYaml(doc);
    auto cfg = LoadConfigFile(inst->config_path.string());
    auto svc =
        Service::Create({inst->config_path.string(), (dir_ / "shared" / "state").string(), "test"},
                        std::move(cfg).value());
    EXPECT_TRUE(svc.ok()) << svc.status().ToString();
    inst->service = std::move(svc).value();
    EXPECT_TRUE(inst->service->Start().ok());
    inst->api = std::make_unique<HttpApi>(*inst->service);
    EXPECT_TRUE(inst->api->Start("127.0.0.1", 0).ok());
    inst->http = std::make_unique<httplib::Client>("127.0.0.1", inst->api->port());
    return inst;
  };
  auto a = start(doc_a, "a.yml");
  auto b = start(doc_b, "b.yml");
  for (int round = 0; round < 3; ++round) {
    std::thread ta([&] { EXPECT_EQ(a->Post("/v1/backups/full/r1")->status, 202); });
    EXPECT_EQ(b->Post("/v1/backups/full/r2")->status, 202);
    ta.join();
    a->WaitIdle("r1");
    b->WaitIdle("r2");
  }
  EXPECT_EQ(FinishedBackupDirs("r1").size(), 3u);
  EXPECT_EQ(FinishedBackupDirs("r2").size(), 3u);
  auto jobs = JobStore::Open((dir_ / "shared" / "state").string());
  ASSERT_TRUE(jobs.ok());
  auto all = (*jobs)->List(JobKind::kBackup);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);
  for (const auto& j : *all)
    EXPECT_EQ(j.status, JobStatus::kSuccess) << j.detail.dump();
}

// Crash recovery removes exactly the runs whose owner is gone and that did not finish:
// also a claim that never got a job record; never a live sibling's run or a finished one.
TEST_F(ServiceTest, RecoveryRemovesOnlyRunsWhoseOwnerIsGone) {
  auto storage = storage::OpenLocalStorage((dir_ / "storage").string());
  ASSERT_TRUE(storage.ok());
  auto claim = [&](const std::string& run, int64_t pid, const Json& namespaces) {
    Json owner = {{"host", Owner::Self().host}, {"boot-id", Owner::Self().boot_id}, {"pid", pid}};
    if (pid == Owner::Self().pid) owner = Owner::Self().ToJson();
    Json c = {{"job-id", 1}, {"owner", owner}, {"slice", ""}, {"heartbeat-ms", 1}};
    if (!namespaces.is_null()) c["namespaces"] = namespaces;
    ASSERT_TRUE((*storage)->PutAtomic(run + "/abs-run.json", c.dump()).ok());
  };
  const int64_t dead = DeadPid();
  // A dead owner's unfinished run, one that never wrote data, and a finished one.
  claim("r1/backup/1700000000001", dead, Json::array({"test"}));
  ASSERT_TRUE((*storage)->PutAtomic("r1/backup/1700000000001/data/test/0_test_1.asb", "x").ok());
  claim("r1/backup/1700000000002", dead, nullptr);
  claim("r1/backup/1700000000003", dead, Json::array({"test"}));
  ASSERT_TRUE(
      (*storage)
          ->PutAtomic("r1/backup/1700000000003/data/test/metadata.yaml", "namespace: test\n")
          .ok());
  // A live owner's run in progress (this process), and an incremental of a dead one.
  claim("r1/backup/1700000000004", Owner::Self().pid, Json::array({"test"}));
  // Another container on this machine (another pid namespace): its pid means nothing
  // here, and its heartbeat is fresh, so it is alive; a stale one is gone.
  for (auto [run, heartbeat] : {std::pair<std::string, int64_t>{"1700000000006", UnixNowMillis()},
                                {"1700000000007", int64_t{1}}}) {
    Json c = {{"owner",
               {{"host", Owner::Self().host},
                {"boot-id", Owner::Self().boot_id},
                {"pid-namespace", "pid:[1]"},
                {"pid", dead}}},
              {"namespaces", {"test"}},
              {"heartbeat-ms", heartbeat}};
    ASSERT_TRUE((*storage)->PutAtomic("r1/backup/" + run + "/abs-run.json", c.dump()).ok());
  }
  claim("r1/incremental/1700000000005", dead, Json::array({"test"}));
  // A stale lock left by the dead owner does not block the next backup.
  ASSERT_TRUE((*storage)
                  ->PutAtomic(RunLockDirectory("r1", false, "") + "/1.json",
                              Json{{"owner",
                                    {{"host", Owner::Self().host},
                                     {"boot-id", Owner::Self().boot_id},
                                     {"pid", dead}}}}
                                  .dump())
                  .ok());
  auto inst = StartInstance(BaseConfig(), "a");
  ASSERT_TRUE(inst);
  const fs::path base = dir_ / "storage" / "r1";
  EXPECT_FALSE(fs::exists(base / "backup/1700000000001"));
  EXPECT_FALSE(fs::exists(base / "backup/1700000000002"));
  EXPECT_TRUE(fs::exists(base / "backup/1700000000003/data/test/metadata.yaml"));
  EXPECT_TRUE(fs::exists(base / "backup/1700000000004/abs-run.json"));
  EXPECT_TRUE(fs::exists(base / "backup/1700000000006/abs-run.json"));
  EXPECT_FALSE(fs::exists(base / "backup/1700000000007"));
  EXPECT_FALSE(fs::exists(base / "incremental"));
  ASSERT_TRUE(Load(*client_, 1000, "v1").ok());
  auto r = inst->Post("/v1/backups/full/r1");
  EXPECT_EQ(r->status, 202) << r->body;
  inst->WaitIdle("r1");
}

// A failed backup leaves nothing behind, and what a backup writes has one mode: 0700
// directories and 0600 files.
TEST_F(ServiceTest, FailedBackupsLeaveNothingAndModesAreUniform) {
  ASSERT_TRUE(Load(*client_, 1000, "v1").ok());
  Json doc = BaseConfig();
  doc["backup-routines"]["bad"] = doc["backup-routines"]["r1"];
  doc["backup-routines"]["bad"]["namespaces"] = {"no-such-namespace"};
  auto inst = StartInstance(doc, "a");
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->Post("/v1/backups/full/bad")->status, 202);
  inst->WaitIdle("bad");
  EXPECT_FALSE(fs::exists(dir_ / "storage" / "bad")) << "nothing left, not even directories";
  ASSERT_EQ(inst->Post("/v1/backups/full/r1")->status, 202);
  inst->WaitIdle("r1");
  ASSERT_EQ(FinishedBackupDirs("r1").size(), 1u);
  size_t dirs = 0, files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "storage")) {
    auto perms = e.status().permissions() & fs::perms::all;
    if (e.is_directory()) {
      ++dirs;
      EXPECT_EQ(perms, fs::perms::owner_all) << e.path();
    } else {
      ++files;
      EXPECT_EQ(perms, fs::perms::owner_read | fs::perms::owner_write) << e.path();
    }
  }
  EXPECT_GE(dirs, 4u);
  EXPECT_GE(files, 3u);
}

class ParallelSliceTest : public ServiceTest {
 protected:
  void Run(const std::string& kind, const Json& slice_a, const Json& slice_b, bool complete) {
    if (!loaded_) {
      ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
      loaded_ = true;
    }
    Json doc_a = BaseConfig(), doc_b = BaseConfig();
    doc_a["backup-routines"]["r1"][kind] = slice_a;
    auto a = StartInstance(doc_a, kind + "-a");
    std::unique_ptr<Instance> b;
    if (!slice_b.is_null()) {
      doc_b["backup-routines"]["r1"][kind] = slice_b;
      b = StartInstance(doc_b, kind + "-b");
    }
    ASSERT_TRUE(a);
    std::thread tb;
    if (b) tb = std::thread([&] { EXPECT_EQ(b->Post("/v1/backups/full/r1")->status, 202); });
    EXPECT_EQ(a->Post("/v1/backups/full/r1")->status, 202);
    if (tb.joinable()) tb.join();
    a->WaitIdle("r1");
    if (b) b->WaitIdle("r1");
    auto dirs = FinishedBackupDirs("r1");
    ASSERT_EQ(dirs.size(), b ? 2u : 1u);
    auto storage = storage::OpenLocalStorage((dir_ / "storage").string());
    std::vector<backup::VerifyLocation> locations;
    uint64_t sum = 0;
    for (const auto& d : dirs) {
      locations.push_back({storage->get(), fs::relative(d, dir_ / "storage").string()});
    }
    auto report = backup::Verify(locations);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->complete(), complete) << report->Format();
    for (const auto& [ns, cov] : report->namespaces)
      sum += cov.records;
    if (complete) {
      EXPECT_EQ(sum, kRecords);
    } else {
      EXPECT_LT(sum, kRecords);
    }
    fs::remove_all(dir_ / "storage");
  }
  bool loaded_ = false;
};

// The parallel workflow on each cloud storage: two instances, one bucket, rack-list
// slices triggered at once; each claims its own run with a conditional create, and verify
// over the bucket proves the pair complete.
TEST_F(ParallelSliceTest, TwoInstancesOnOneBucketClaimTheirRunsAndCoverEverything) {
  ASSERT_TRUE(Load(*client_, kRecords, "v1").ok());
  for (const std::string kind : {"s3", "gcs", "azure"}) {
    SCOPED_TRACE(kind);
    auto cloud = StartCloud(kind, dir_ / ("cloud-" + kind), "parallel");
    ASSERT_TRUE(cloud.ok()) << cloud.status().ToString();
    Json doc_a = BaseConfig(), doc_b = BaseConfig();
    doc_a["storage"]["shared"] = doc_b["storage"]["shared"] = cloud->block;
    doc_a["backup-routines"]["r1"]["rack-list"] = Json::array({1, 2});
    doc_b["backup-routines"]["r1"]["rack-list"] = Json::array({3});
    auto a = StartInstance(doc_a, kind + "-a");
    auto b = StartInstance(doc_b, kind + "-b");
    ASSERT_TRUE(a && b);
    std::thread tb([&] { EXPECT_EQ(b->Post("/v1/backups/full/r1")->status, 202); });
    EXPECT_EQ(a->Post("/v1/backups/full/r1")->status, 202);
    tb.join();
    a->WaitIdle("r1");
    b->WaitIdle("r1");
    Json listed = Json::parse(a->Get("/v1/backups/full/r1")->body);
    ASSERT_EQ(listed.size(), 2u) << listed.dump();

    auto bucket = storage::OpenStorage(cloud->spec);
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    std::vector<backup::VerifyLocation> locations;
    for (const auto& entry : listed)
      locations.push_back({bucket->get(), entry["key"].get<std::string>()});
    auto report = backup::Verify(locations);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->complete()) << report->Format();
    // Each run directory holds the claim of the instance that wrote it.
    auto claims = (*bucket)->List("r1");
    ASSERT_TRUE(claims.ok());
    int claim_files = 0;
    for (const auto& o : *claims)
      claim_files += storage::BaseName(o.path) == "abs-run.json";
    EXPECT_EQ(claim_files, 2);
  }
}

TEST_F(ParallelSliceTest, NodeRackAndPartitionListsTogetherCoverEverything) {
  const auto& n = cluster_->nodes();
  ASSERT_EQ(n.size(), 3u);
  auto addr = [&](int i) { return "127.0.0.1:" + std::to_string(n[i].port); };
  Run("node-list", Json::array({addr(0)}), Json::array({addr(1), n[2].id}), true);
  Run("rack-list", Json::array({1, 2}), Json::array({3}), true);
  Run("partition-list", "0-2000", "2000-2096", true);
  // A slice left out: verify must fail.
  Run("node-list", Json::array({addr(0), addr(1)}), nullptr, false);
}

}  // namespace
}  // namespace absvc::service
