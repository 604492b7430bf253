// What the service suites share: records to load and count, cloud storages on their
// emulators, and absd as a process of its own (started, signalled and reaped by pid).
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/client.h"
#include "config/config.h"
#include "emulator.h"
#include "storage/spec.h"
#include "test_cluster.h"

namespace absvc::service::harness {

namespace fs = std::filesystem;

// Records 0..n-1 of set `set` in namespace test, each with bins i, tag and a pad of
// `pad_bytes`.
inline Status Load(client::Client& c, uint64_t n, const std::string& tag, size_t pad_bytes = 200,
                   const std::string& set = "svc") {
  std::vector<client::BatchWriteRecord> batch;
  for (uint64_t from = 0; from < n; from += 500) {
    batch.clear();
    for (uint64_t i = from; i < std::min(n, from + 500); ++i) {
      client::BatchWriteRecord r;
      r.key = client::Key::FromUserKey("test", set, client::Value::Int(static_cast<int64_t>(i)));
      r.send_key = true;
      r.AddBin({"i", client::Value::Int(static_cast<int64_t>(i))});
      r.AddBin({"tag", client::Value::Str(tag)});
      r.AddBin({"pad", client::Value::Blob(std::string(pad_bytes, 'x'))});
      batch.push_back(std::move(r));
    }
    ABS_RETURN_IF_ERROR(c.BatchWrite(batch));
    for (const auto& r : batch) {
      if (r.result != 0) return Status::Server(r.result, "load");
    }
  }
  return Status::Ok();
}

// A devcluster started with `extra` arguments, and a client of it.
inline Status StartClusterAndClient(const std::vector<std::string>& extra,
                                    std::unique_ptr<testing::TestCluster>* cluster,
                                    std::unique_ptr<client::Client>* client) {
  testing::DevClusterArgs args;
  args.extra = extra;
  ABS_ASSIGN_OR_RETURN(*cluster, testing::TestCluster::StartDevCluster(args));
  ABS_ASSIGN_OR_RETURN(*client, client::Client::Connect((*cluster)->Options()));
  return Status::Ok();
}

// Records in the namespace, and how many carry `tag`.
inline std::pair<uint64_t, uint64_t> Count(client::Client& c, const std::string& tag) {
  std::mutex mu;
  uint64_t all = 0, tagged = 0;
  client::ScanRequest req;
  req.ns = "test";
  auto cursors = client::CursorsForRange(0, 4096);
  Status st = c.ScanPartitions(req, cursors, [&](const client::ScanRecordView& r) {
    bool t = false;
    for (const auto& b : *r.bins) {
      if (b.name == "tag") t = b.value == tag;
    }
    std::lock_guard lock(mu);
    ++all;
    tagged += t;
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return {all, tagged};
}

// A cloud storage for a test: its emulator (stopped with it), the storage block for the
// config, and the same storage as a spec for opening it directly.
struct CloudStore {
  std::unique_ptr<testing::Emulator> emulator;
  Json block;
  storage::StorageSpec spec;
};

inline constexpr const char* kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// `kind`: s3, gcs or azure; objects go under `prefix` in bucket (or container) abs-test.
inline Result<CloudStore> StartCloud(const std::string& kind, const fs::path& dir,
                                     const std::string& prefix) {
  fs::create_directories(dir);
  CloudStore c;
  storage::StorageSpec& spec = c.spec;
  spec.bucket = "abs-test";
  spec.path = prefix;
  if (kind == "s3") {
    ABS_ASSIGN_OR_RETURN(c.emulator, testing::Emulator::Start("s3.js", {dir.string(), "abs-test"}));
    spec.kind = storage::StorageKind::kS3;
    spec.s3_region = "us-east-1";
    spec.s3_endpoint_override = c.emulator->endpoint();
    spec.s3_access_key_id = spec.s3_secret_access_key = "S3RVER";
    c.block = {{"s3-storage",
                {{"bucket", "abs-test"},
                 {"path", prefix},
                 {"s3-region", "us-east-1"},
                 {"s3-endpoint-override", spec.s3_endpoint_override},
                 {"access-key-id", "S3RVER"},
                 // A secret read from a file: what absd signs with must be its contents.
                 {"secret-access-key", "file:" + (dir / "s3-secret").string()}}}};
    std::ofstream(dir / "s3-secret") << "S3RVER\n";
  } else if (kind == "gcs") {
    std::string key = (dir / "key.json").string();
    ABS_ASSIGN_OR_RETURN(c.emulator, testing::Emulator::Start("gcs.js", {key, "abs-test"}));
    spec.kind = storage::StorageKind::kGcs;
    spec.gcs_endpoint = c.emulator->endpoint();
    spec.gcs_key_file_path = key;
    c.block = {{"gcp-storage",
                {{"bucket-name", "abs-test"},
                 {"path", prefix},
                 {"endpoint", spec.gcs_endpoint},
                 {"key-file-path", key}}}};
  } else {
    ABS_ASSIGN_OR_RETURN(c.emulator,
                         testing::Emulator::Start("azure.js", {dir.string(), "abs-test"}));
    spec.kind = storage::StorageKind::kAzure;
    spec.azure_endpoint = c.emulator->endpoint() + "/devstoreaccount1";
    spec.azure_account_name = "devstoreaccount1";
    spec.azure_account_key = kAzuriteKey;
    c.block = {{"azure-storage",
                {{"endpoint", spec.azure_endpoint},
                 {"container-name", "abs-test"},
                 {"path", prefix},
                 {"account-name", "devstoreaccount1"},
                 {"account-key", kAzuriteKey}}}};
  }
  return c;
}

// An absd process of the tests: started from a config file, reached on its HTTP port,
// signalled and reaped by pid.
struct AbsdProcess {
  fs::path config;
  std::string state;
  int port = 0;
  pid_t pid = -1;
  std::unique_ptr<httplib::Client> http;
  std::vector<std::string> extra_args;  // after -c and --state-dir (-r, say)

  AbsdProcess(fs::path config_path, std::string state_dir, int http_port)
      : config(std::move(config_path)), state(std::move(state_dir)), port(http_port) {
    http = std::make_unique<httplib::Client>("127.0.0.1", port);
  }
  ~AbsdProcess() { Kill(SIGKILL); }
  pid_t Start() {
    const std::string absd = testing::SiblingBinary("absd");
    std::vector<std::string> args = {absd, "-c", config.string(), "--state-dir", state};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid = fork();
    if (pid == 0) {
      execv(absd.c_str(), argv.data());
      _exit(127);
    }
    return pid;
  }
  // Until /health answers, at most `deadline`.
  bool WaitUp(std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      auto r = http->Get("/health");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  bool BackupRunning(const std::string& routine = "r1") {
    auto r = http->Get(("/v1/backups/currentBackup/" + routine).c_str());
    return r && r->status == 200 && Json::parse(r->body, nullptr, false).contains("full");
  }
  // Sends `sig` and reaps the process; its exit status, or -1.
  int Kill(int sig) {
    if (pid <= 0) return -1;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  // Waits up to `deadline` for the process to exit by itself; its status, or -1.
  int WaitExit(std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
};

}  // namespace absvc::service::harness
