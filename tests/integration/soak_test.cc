// The fault soak: absd backs up one namespace to local disk, S3, GCS and Azure at once, each
// cloud behind tests/emulators/fault_proxy.js answering a seeded share of its requests
// with 500, 503 or 429, dropping connections, stalling and adding latency, while absd is
// stopped again and again with SIGTERM and kill -9 and started anew. Then every backup is
// restored through the same faults, one restore killed halfway. It asserts that
//   - every SIGTERM ends absd within its stop bound, and every job ends within a bound;
//   - every listed backup verifies complete and holds each record exactly once;
//   - every restore brings back exactly the records backed up;
//   - absd's memory stays within its budget: what the budget counts (/metrics) and the
//     peak resident size of each absd process (VmHWM), less a fixed allowance for code,
//     thread stacks and the HTTP clients.
// At the size CI affords by default; `make soak` runs it longer (ABS_SOAK_ROUNDS,
// ABS_SOAK_RECORDS, ABS_SOAK_SEED to replay one).
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "absd_harness.h"
#include "backup/verify.h"
#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "storage/local/local_storage.h"
#include "storage/registry.h"

namespace absvc::service {
namespace {

using namespace harness;
using testing::FreeLocalPort;
using testing::TestCluster;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// Peak resident size of a live process, in KiB (0 when it cannot be read).
uint64_t PeakRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// A value of absd's /metrics, or -1.
double Metric(httplib::Client& http, const std::string& name) {
  auto r = http.Get("/metrics");
  if (!r || r->status != 200) return -1;
  size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(r->body.c_str() + at + name.size() + 2);
}

class FaultSoak : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) {
      GTEST_SKIP() << "the soak truncates the namespace: devcluster only";
    }
    dir_ = fs::temp_directory_path() / ("abs-soak-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Status st = StartClusterAndClient({"--namespace", "test:rf=1"}, &cluster_, &client_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::unique_ptr<TestCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

struct Proxied {
  std::string kind;
  CloudStore cloud;
  std::unique_ptr<testing::Emulator> proxy;
};

void SetChaos(const testing::Emulator& proxy, const Json& chaos) {
  httplib::Client http("127.0.0.1", proxy.port());
  auto r = http.Post("/__chaos", chaos.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 204);
}

TEST_F(FaultSoak, BackupsAndRestoresThroughStorageFaultsAndStopsLoseNothing) {
  const uint64_t n = EnvOr("ABS_SOAK_RECORDS", 10000);
  const uint64_t rounds = EnvOr("ABS_SOAK_ROUNDS", 6);
  const uint64_t seed = EnvOr("ABS_SOAK_SEED", std::random_device{}());
  const int64_t budget_mib = 32;
  // Code, libraries, thread stacks, curl and the HTTP server: what absd holds besides the
  // data the budget counts (measured at about 40 MiB idle; see the printed figures).
  const uint64_t allowance_mib = 96;
  SCOPED_TRACE("ABS_SOAK_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Records of 2 KiB, so files are several parts (multipart, blocks, resumable chunks).
  ASSERT_TRUE(Load(*client_, n, "soak", 2048, "soak").ok());

  // The storages: local disk, and each cloud behind its fault proxy.
  std::vector<Proxied> clouds;
  Json doc;
  doc["storage"]["local"] = {{"local-storage", {{"path", (dir_ / "local").string()}}}};
  for (const std::string kind : {"s3", "gcs", "azure"}) {
    auto c = StartCloud(kind, dir_ / kind, "soak");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto proxy = testing::Emulator::Start("fault_proxy.js", {c->emulator->endpoint()});
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    Json block = c->block;
    if (kind == "s3") {
      block["s3-storage"]["s3-endpoint-override"] = (*proxy)->endpoint();
    } else if (kind == "gcs") {
      block["gcp-storage"]["endpoint"] = (*proxy)->endpoint();
      block["gcp-storage"]["min-part-size"] = 1 << 20;
    } else {
      block["azure-storage"]["endpoint"] = (*proxy)->endpoint() + "/devstoreaccount1";
      block["azure-storage"]["min-part-size"] = 1 << 20;
    }
    doc["storage"][kind] = block;
    clouds.push_back({kind, std::move(c).value(), std::move(proxy).value()});
  }
  const std::vector<std::string> routines = {"local", "s3", "gcs", "azure"};

  Json seeds = Json::array();
  for (const auto& s : cluster_->seeds())
    seeds.push_back({{"host-name", s.name}, {"port", s.port}});
  const int port = FreeLocalPort();
  ASSERT_GT(port, 0);
  doc["service"] = {{"http", {{"address", "127.0.0.1"}, {"port", port}}},
                    {"memory-budget-mib", budget_mib},
                    {"logger",
                     {{"level", "INFO"},
                      {"stdout-writer", false},
                      {"file-writer", {{"filename", (dir_ / "absd.log").string()}}}}}};
  doc["aerospike-clusters"] = {{"c1", {{"seed-nodes", seeds}}}};
  // Files of 8 MiB (several parts each), scanned slowly enough (about 8 s a backup) that
  // the stops land all through; failed attempts retried after half a second.
  doc["backup-policies"] = {
      {"p1",
       {{"parallel", 2},
        {"file-limit", 8},
        {"records-per-second", std::max<uint64_t>(1000, n / 8)},
        {"retry-policy", {{"base-timeout", 500}, {"multiplier", 1}, {"max-retries", 50}}}}}};
  for (const auto& r : routines) {
    doc["backup-routines"][r] = {{"interval-cron", "@yearly"},
                                 {"source-cluster", "c1"},
                                 {"storage", r},
                                 {"backup-policy", "p1"},
                                 {"namespaces", {"test"}}};
  }
  const fs::path config = dir_ / "absd.yml";
  std::ofstream(config) << JsonToYaml(doc);
  for (const auto& c : clouds) {
    ASSERT_NO_FATAL_FAILURE(SetChaos(*c.proxy, {{"seed", seed % 100000 + 1},
                                                {"status", 0.04},
                                                {"reset", 0.02},
                                                {"stall", 0.02},
                                                {"stall_ms", 1500},
                                                {"latency_ms", 20}}));
  }

  AbsdProcess absd(config, (dir_ / "state").string(), port);
  uint64_t peak_rss_kib = 0, terms = 0, kills = 0, runs = 0;
  double peak_in_transit = 0, slowest_start = 0;
  // absd resumes and lists its routines' backups before it listens: through the faults
  // (and their retries' back-offs) that takes seconds.
  auto start = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_GT(absd.Start(), 0);
    ++runs;
    ASSERT_TRUE(absd.WaitUp(std::chrono::seconds(90))) << "absd did not come up within 90 s";
    slowest_start =
        std::max(slowest_start,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  // What the process held at its peak, and what the budget counted, before it stops.
  auto measure = [&] {
    peak_rss_kib = std::max(peak_rss_kib, PeakRssKib(absd.pid));
    peak_in_transit =
        std::max(peak_in_transit, Metric(*absd.http, "abs_memory_in_transit_peak_bytes"));
  };
  auto stop = [&](bool graceful) {
    // It must still be running: a crash between stops would otherwise pass unseen.
    int early = 0;
    ASSERT_EQ(waitpid(absd.pid, &early, WNOHANG), 0) << "absd exited by itself, status " << early;
    measure();
    if (graceful) {
      kill(absd.pid, SIGTERM);
      int status = absd.WaitExit(std::chrono::seconds(30));
      if (status == -1) absd.Kill(SIGKILL);  // never left running for the next start
      ASSERT_NE(status, -1) << "absd did not stop within 30 s of SIGTERM";
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
      ++terms;
    } else {
      absd.Kill(SIGKILL);
      ++kills;
    }
  };
  auto listed = [&](const std::string& routine) {
    auto r = absd.http->Get(("/v1/backups/full/" + routine).c_str());
    return r && r->status == 200 ? Json::parse(r->body) : Json::array();
  };
  auto trigger_missing = [&] {
    for (const auto& r : routines) {
      if (!absd.BackupRunning(r) && listed(r).empty()) {
        auto posted = absd.http->Post(("/v1/backups/full/" + r).c_str());
        ASSERT_TRUE(posted);
        EXPECT_TRUE(posted->status == 202 || posted->status == 409) << posted->body;
      }
    }
  };

  // Rounds of faults and stops.
  for (uint64_t i = 0; i < rounds; ++i) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(trigger_missing());
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(1000, 4000)(rng)));
    ASSERT_NO_FATAL_FAILURE(stop(i % 2 == 0));
  }

  // Every job ends, the faults still on: each routine gets a backup (a job that spent its
  // retries has ended too; it is asked again, as an operator would).
  ASSERT_NO_FATAL_FAILURE(start());
  const auto bound = std::chrono::seconds(240);
  for (int attempt = 0; attempt < 4; ++attempt) {
    ASSERT_NO_FATAL_FAILURE(trigger_missing());
    auto until = std::chrono::steady_clock::now() + bound;
    for (const auto& r : routines) {
      while (absd.BackupRunning(r)) {
        ASSERT_LT(std::chrono::steady_clock::now(), until)
            << "the backup of routine " << r << " did not end within " << bound.count() << " s";
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    bool all = true;
    for (const auto& r : routines)
      all = all && !listed(r).empty();
    if (all) break;
  }

  // Every listed backup verifies complete and holds each record once.
  auto open_direct = [&](const std::string& routine) -> std::unique_ptr<storage::Storage> {
    if (routine == "local") {
      auto s = storage::OpenLocalStorage((dir_ / "local").string());
      return s.ok() ? std::move(s).value() : nullptr;
    }
    for (auto& c : clouds) {
      if (c.kind == routine) {
        auto s = storage::OpenStorage(c.cloud.spec);
        return s.ok() ? std::move(s).value() : nullptr;
      }
    }
    return nullptr;
  };
  std::map<std::string, std::string> newest;
  uint64_t verified = 0;
  for (const auto& r : routines) {
    SCOPED_TRACE("routine " + r);
    Json backups = listed(r);
    ASSERT_FALSE(backups.empty()) << "no backup of routine " << r << " after the soak";
    auto store = open_direct(r);
    ASSERT_TRUE(store);
    for (const auto& b : backups) {
      const std::string key = b["key"].get<std::string>();
      EXPECT_EQ(b["record-count"].get<uint64_t>(), n) << key;
      auto v = backup::Verify({{store.get(), key}});
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_TRUE(v->complete()) << v->Format();
      auto text = store->ReadAll(key + "/" + backupset::kManifestFile);
      ASSERT_TRUE(text.ok()) << text.status().ToString();
      auto manifest = backupset::ParseManifestJson(*text);
      ASSERT_TRUE(manifest.ok());
      uint64_t in_files = 0;
      for (const auto& f : manifest->files)
        in_files += f.records;
      EXPECT_EQ(in_files, n) << key << ": records doubled or lost";
      ++verified;
      newest[r] = key;
    }
  }

  // Every backup restored through the faults; the first restore is killed halfway and asked
  // again after the restart.
  uint64_t restores = 0;
  for (size_t k = 0; k < routines.size(); ++k) {
    const std::string& r = routines[k];
    SCOPED_TRACE("restore of routine " + r);
    ASSERT_TRUE(client_->Truncate("test", "").ok());
    Json body = {{"backup-data-path", newest[r]},
                 {"source-name", r},
                 {"destination-name", "c1"},
                 {"policy", {{"parallel", 2}}}};
    std::string last_status;
    for (int attempt = 0; attempt < 4; ++attempt) {
      auto posted = absd.http->Post("/v1/restore/full", body.dump(), "application/json");
      ASSERT_TRUE(posted && posted->status == 202) << (posted ? posted->body : "no answer");
      ++restores;
      const int64_t id = std::stoll(posted->body);
      if (k == 0 && attempt == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        ASSERT_NO_FATAL_FAILURE(stop(false));
        ASSERT_NO_FATAL_FAILURE(start());
        continue;
      }
      auto until = std::chrono::steady_clock::now() + bound;
      Json status = {{"status", "running"}};  // until an answer says otherwise
      do {
        ASSERT_LT(std::chrono::steady_clock::now(), until) << "restore " << id << " did not end";
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto s = absd.http->Get(("/v1/restore/status/" + std::to_string(id)).c_str());
        if (!s || s->status != 200) continue;  // asked again until the bound
        status = Json::parse(s->body);
      } while (status["status"] == "running");
      last_status = status.dump();
      if (status["status"] == "success") break;
    }
    EXPECT_NE(last_status.find("\"success\""), std::string::npos) << last_status;
    EXPECT_EQ(Count(*client_, "soak"), std::make_pair(n, n)) << "records lost or changed";
  }
  measure();

  Json chaos_counts = Json::object();
  for (const auto& c : clouds) {
    httplib::Client http("127.0.0.1", c.proxy->port());
    auto r = http.Get("/__chaos");
    if (r && r->status == 200) chaos_counts[c.kind] = Json::parse(r->body);
  }
  std::printf(
      "fault soak (seed %llu): %llu records, %llu absd runs (%llu SIGTERM, %llu kill -9), %llu "
      "backups verified, %llu restore requests; slowest start %.1f s; peak RSS %llu MiB, peak "
      "in transit %.1f MiB of a %lld MiB budget; faults %s\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(runs), static_cast<unsigned long long>(terms),
      static_cast<unsigned long long>(kills), static_cast<unsigned long long>(verified),
      static_cast<unsigned long long>(restores), slowest_start,
      static_cast<unsigned long long>(peak_rss_kib >> 10), peak_in_transit / (1 << 20),
      static_cast<long long>(budget_mib), chaos_counts.dump().c_str());
  EXPECT_GT(peak_rss_kib, 0u) << "absd's peak memory was never read";
  EXPECT_GE(peak_in_transit, 0) << "absd's /metrics never answered";
  EXPECT_LE(peak_in_transit, static_cast<double>(budget_mib << 20));
  EXPECT_LE(peak_rss_kib >> 10, static_cast<uint64_t>(budget_mib) + allowance_mib);
  for (const auto& [kind, counts] : chaos_counts.items())
    EXPECT_GT(counts["status"].get<int>() + counts["reset"].get<int>(), 0) << kind;
}

}  // namespace
}  // namespace absvc::service
