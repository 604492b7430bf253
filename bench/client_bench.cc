// Client benchmark on a 3-node abs-devcluster, every figure from this one run:
//   batch writes of N x 1 KiB records (records/s, MB/s);
//   full scans by our client and by the official Node.js client (median of runs), and
//   the ratio between them; CPU seconds of the client and of the server during our scan.
// N defaults to 1,000,000 (BENCH_RECORDS overrides).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "client/client.h"
#include "tests/integration/test_cluster.h"

using namespace absvc;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// User+system CPU seconds of a process.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main() {
  const long n = std::getenv("BENCH_RECORDS") ? std::atol(std::getenv("BENCH_RECORDS")) : 1000000;
  const int runs = std::getenv("BENCH_RUNS") ? std::atoi(std::getenv("BENCH_RUNS")) : 3;
  const size_t object_size = 1024;
  testing::DevClusterArgs args;
  args.extra = {"--namespace", "test:rf=1"};
  auto tc = testing::TestCluster::StartDevCluster(args);
  if (!tc.ok()) {
    std::fprintf(stderr, "client_bench: %s\n", tc.status().ToString().c_str());
    return 1;
  }
  auto client = client::Client::Connect((*tc)->Options());
  if (!client.ok()) {
    std::fprintf(stderr, "client_bench: %s\n", client.status().ToString().c_str());
    return 1;
  }
  auto& c = **client;

  // Batch writes: 8 writer threads, batches of 256 records.
  const int writers = 8;
  const long per_batch = 256;
  std::atomic<long> next{0};
  std::atomic<bool> failed{false};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      std::vector<client::BatchWriteRecord> batch;
      const std::string payload(object_size, 'x');
      while (true) {
        long start = next.fetch_add(per_batch);
        if (start >= n) break;
        batch.clear();
        for (long i = start; i < std::min(n, start + per_batch); ++i) {
          client::BatchWriteRecord r;
          r.key = client::Key::FromUserKey("test", "bench", client::Value::Int(i));
          r.AddBin({"payload", client::Value::Blob(payload)});
          batch.push_back(std::move(r));
        }
        if (!c.BatchWrite(batch).ok()) failed = true;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  double write_secs = Seconds(t0, Clock::now());
  if (failed) {
    std::fprintf(stderr, "client_bench: batch writes failed\n");
    return 1;
  }
  const double mb = static_cast<double>(n) * object_size / 1e6;
  std::printf("batch write: %ld records x %zu B in %.2f s = %.0f records/s, %.1f MB/s\n", n,
              object_size, write_secs, n / write_secs, mb / write_secs);

  // Our scan: decode every record, discard it.
  std::vector<double> ours;
  double client_cpu = 0, server_cpu = 0;
  for (int r = 0; r < runs; ++r) {
    client::ScanRequest req;
    req.ns = "test";
    auto cursors = client::CursorsForRange(0, 4096);
    client::ScanStats stats;
    double cpu0 = SelfCpuSeconds(), srv0 = ProcessCpuSeconds((*tc)->pid());
    auto s0 = Clock::now();
    auto st = c.ScanPartitions(
        req, cursors, [](const client::ScanRecordView&) { return absvc::Status::Ok(); }, &stats);
    double secs = Seconds(s0, Clock::now());
    client_cpu = SelfCpuSeconds() - cpu0;
    server_cpu = ProcessCpuSeconds((*tc)->pid()) - srv0;
    if (!st.ok() || stats.records.load() != static_cast<uint64_t>(n)) {
      std::fprintf(stderr, "client_bench: scan read %llu of %ld: %s\n",
                   static_cast<unsigned long long>(stats.records.load()), n, st.ToString().c_str());
      return 1;
    }
    ours.push_back(secs);
  }
  double ours_s = Median(ours);
  std::printf(
      "abs scan: %.0f records/s, %.1f MB/s (median of %d: %.2f s); CPU in last run: "
      "client %.2f s, server %.2f s (%.0f%% of the client's wall time busy)\n",
      n / ours_s, mb / ours_s, runs, ours_s, client_cpu, server_cpu,
      100 * client_cpu / ours.back());

  // The Node.js client's scan.
  std::vector<double> node_runs;
  std::string script = testing::SiblingBinary("../../bench/node_scan.js");
  if (const char* root = std::getenv("ABS_ROOT"))
    script = std::string(root) + "/bench/node_scan.js";
  for (int r = 0; r < runs; ++r) {
    std::string cmd = "node " + script + " " + std::to_string((*tc)->nodes()[0].port) + " test";
    FILE* p = popen(cmd.c_str(), "r");
    char line[256] = {};
    long records = 0;
    double secs = 0;
    if (p && std::fgets(line, sizeof line, p))
      std::sscanf(line, "records=%ld seconds=%lf", &records, &secs);
    if (p) pclose(p);
    if (records != n || secs <= 0) {
      std::fprintf(stderr, "client_bench: node scan failed: %s\n", line);
      return 1;
    }
    node_runs.push_back(secs);
  }
  double node_s = Median(node_runs);
  std::printf("node client scan: %.0f records/s, %.1f MB/s (median of %d: %.2f s)\n", n / node_s,
              mb / node_s, runs, node_s);
  std::printf("ratio abs/node scan throughput: %.2fx (goal >= 3x)\n", node_s / ours_s);
  return 0;
}
