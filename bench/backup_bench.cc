// Backup and restore throughput on a 3-node abs-devcluster, every figure from one run:
// N x 1 KiB records (BENCH_RECORDS, default 1M), backups with and without zstd and AES,
// each as a ratio of the client's bare scan in the same run, restores of each, and the
// peak memory of this process.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "asb/asb.h"
#include "backup/backup_job.h"
#include "client/client.h"
#include "restore/restore_job.h"
#include "storage/local/local_storage.h"
#include "storage/storage.h"
#include "tests/integration/test_cluster.h"

using namespace absvc;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double Secs(SteadyClock::time_point a) {
  return std::chrono::duration<double>(SteadyClock::now() - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main() {
  const uint64_t n = std::getenv("BENCH_RECORDS")
                         ? std::strtoull(std::getenv("BENCH_RECORDS"), nullptr, 10)
                         : 1000000;
  const int runs = std::getenv("BENCH_RUNS") ? std::atoi(std::getenv("BENCH_RUNS")) : 3;
  testing::DevClusterArgs args;
  args.extra = {"--namespace", "test:rf=1"};
  auto tc = testing::TestCluster::StartDevCluster(args);
  if (!tc.ok()) return std::fprintf(stderr, "%s\n", tc.status().ToString().c_str()), 1;
  if (std::getenv("BENCH_PIN")) {
    // The cluster on core 0, this process on core 1: the ratio then shows whether the
    // client's pipeline, not the shared CPU, limits a backup.
    cpu_set_t server, self;
    CPU_ZERO(&server);
    CPU_SET(0, &server);
    CPU_ZERO(&self);
    CPU_SET(1, &self);
    sched_setaffinity((*tc)->pid(), sizeof server, &server);
    sched_setaffinity(0, sizeof self, &self);
    std::printf("pinned: cluster on core 0, client on core 1\n");
  }
  auto client = client::Client::Connect((*tc)->Options());
  if (!client.ok()) return std::fprintf(stderr, "%s\n", client.status().ToString().c_str()), 1;
  auto& c = **client;
  {
    std::vector<std::thread> threads;
    std::atomic<uint64_t> next{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        std::vector<client::BatchWriteRecord> batch;
        const std::string payload(1024, 'x');
        for (uint64_t from = next.fetch_add(256); from < n; from = next.fetch_add(256)) {
          batch.clear();
          for (uint64_t i = from; i < std::min(n, from + 256); ++i) {
            client::BatchWriteRecord r;
            r.key = client::Key::FromUserKey("test", "bench",
                                             client::Value::Int(static_cast<int64_t>(i)));
            r.AddBin({"payload", client::Value::Blob(payload)});
            batch.push_back(std::move(r));
          }
          (void)c.BatchWrite(batch);
        }
      });
    }
    for (auto& t : threads)
      t.join();
  }
  const double mb = static_cast<double>(n) * 1024 / 1e6;

  std::vector<double> scans;
  for (int r = 0; r < runs; ++r) {
    client::ScanRequest req;
    req.ns = "test";
    auto cursors = client::CursorsForRange(0, 4096);
    auto t0 = SteadyClock::now();
    // Eight workers over partition groups, as a backup with parallel 8 runs.
    std::vector<std::thread> threads;
    for (int w = 0; w < 8; ++w) {
      threads.emplace_back([&, w] {
        auto mine = client::CursorsForRange(static_cast<uint32_t>(w * 512), 512);
        client::ScanRequest one = req;
        one.max_concurrent_nodes = 1;
        (void)c.ScanPartitions(one, mine,
                               [](const client::ScanRecordView&) { return Status::Ok(); });
      });
    }
    for (auto& t : threads)
      t.join();
    scans.push_back(Secs(t0));
  }
  const double scan_s = Median(scans);
  std::printf("bare scan (8 workers): %.0f records/s, %.0f MB/s (median of %d)\n", n / scan_s,
              mb / scan_s, runs);

  // BENCH_DIR chooses the disk; /dev/shm takes storage out of the measurement.
  fs::path root =
      (std::getenv("BENCH_DIR") ? fs::path(std::getenv("BENCH_DIR")) : fs::temp_directory_path()) /
      ("abs-bench-" + std::to_string(::getpid()));
  struct Mode {
    const char* name;
    storage::Compression compression;
    storage::Encryption encryption;
  } modes[] = {{"plain", storage::Compression::kNone, storage::Encryption::kNone},
               {"zstd", storage::Compression::kZstd, storage::Encryption::kNone},
               {"aes256", storage::Compression::kNone, storage::Encryption::kAes256},
               {"zstd+aes256", storage::Compression::kZstd, storage::Encryption::kAes256}};
  for (const auto& m : modes) {
    std::vector<double> backups, restores;
    uint64_t bytes = 0;
    for (int r = 0; r < runs; ++r) {
      fs::remove_all(root);
      auto store = storage::OpenLocalStorage(root.string());
      backup::BackupOptions o;
      o.ns = "test";
      o.parallel = 8;
      o.codec.compression = m.compression;
      o.codec.encryption = m.encryption;
      o.codec.key = std::string(32, 'k');
      auto t0 = SteadyClock::now();
      auto result = backup::RunBackup(c, **store, o);
      backups.push_back(Secs(t0));
      if (!result.ok() || result->record_count != n) {
        std::fprintf(stderr, "backup failed: %s\n",
                     result.ok() ? "count" : result.status().ToString().c_str());
        return 1;
      }
      bytes = result->byte_count;
      restore::RestoreOptions ro;
      ro.directories = {""};
      ro.parallel = 8;
      ro.codec = o.codec;
      ro.policy.no_generation = true;
      restore::RestoreCounters counters;
      t0 = SteadyClock::now();
      Status st = restore::RunRestore(c, **store, ro, counters);
      restores.push_back(Secs(t0));
      if (!st.ok() || counters.inserted.load() != n) {
        std::fprintf(stderr, "restore failed: %s\n", st.ToString().c_str());
        return 1;
      }
    }
    double b = Median(backups), rs = Median(restores);
    std::printf(
        "%-12s backup %8.0f records/s %6.0f MB/s (%.2fx bare scan), files %6.0f MB; "
        "restore %8.0f records/s %6.0f MB/s\n",
        m.name, n / b, mb / b, scan_s / b, bytes / 1e6, n / rs, mb / rs);
  }
  std::printf("peak memory of the backup/restore process: %ld MB\n", PeakRssMb());

  // Records captured once, so the encode-and-store stage can be measured alone.
  struct Captured {
    std::string set, user_key, digest;
    uint16_t generation;
    uint32_t void_time;
    std::vector<std::pair<std::string, std::string>> bins;  // name, value
    std::vector<uint8_t> types;
  };
  std::vector<Captured> captured;
  {
    std::mutex mu;
    const size_t want = std::min<uint64_t>(n, 200000);
    captured.reserve(want);
    client::ScanRequest req;
    req.ns = "test";
    auto cursors = client::CursorsForRange(0, 4096);
    (void)c.ScanPartitions(req, cursors, [&](const client::ScanRecordView& r) {
      std::lock_guard lock(mu);
      if (captured.size() >= want) return Status::Ok();
      Captured k{std::string(r.set),
                 std::string(r.user_key),
                 std::string(reinterpret_cast<const char*>(r.digest), 20),
                 r.generation,
                 r.void_time,
                 {},
                 {}};
      for (const auto& b : *r.bins) {
        k.bins.emplace_back(std::string(b.name), std::string(b.value));
        k.types.push_back(b.particle_type);
      }
      captured.push_back(std::move(k));
      return Status::Ok();
    });
  }

  for (const auto& m : modes) {
    // The encoder, codec, hash and storage writer alone, on captured records, with the
    // backup's 8 workers: what this stage sustains when it has the CPU to itself.
    std::vector<double> stages;
    for (int r = 0; r < runs; ++r) {
      fs::remove_all(root);
      auto store = storage::OpenLocalStorage(root.string());
      storage::CodecOptions codec;
      codec.compression = m.compression;
      codec.encryption = m.encryption;
      codec.key = std::string(32, 'k');
      auto t0 = SteadyClock::now();
      std::vector<std::thread> threads;
      for (int w = 0; w < 8; ++w) {
        threads.emplace_back([&, w] {
          asb::Encoder encoder;
          storage::HashingWriter* hash = nullptr;
          auto out = storage::EncodeWriter(*(*store)->OpenWriter("stage_" + std::to_string(w)),
                                           codec, &hash);
          std::string buf;
          std::vector<wire::OpView> views;
          for (size_t i = static_cast<size_t>(w); i < captured.size(); i += 8) {
            const auto& k = captured[i];
            views.clear();
            for (size_t b = 0; b < k.bins.size(); ++b) {
              views.push_back(
                  {wire::OpType::kRead, k.types[b], 0, k.bins[b].first, k.bins[b].second});
            }
            (void)encoder.AppendRecord(buf, "test", k.set, k.user_key,
                                       reinterpret_cast<const uint8_t*>(k.digest.data()),
                                       k.generation, k.void_time, views);
            if (buf.size() >= (64 << 10)) {
              (void)out->Write(buf);
              buf.clear();
            }
          }
          (void)out->Write(buf);
          (void)out->Close();
          (void)hash->sha256_hex();
        });
      }
      for (auto& t : threads)
        t.join();
      stages.push_back(Secs(t0));
    }
    const double stage_rps = static_cast<double>(captured.size()) / Median(stages);
    std::printf("%-12s encode+store stage alone: %8.0f records/s (%.2fx bare scan)\n", m.name,
                stage_rps, stage_rps * scan_s / n);
  }
  fs::remove_all(root);
  return 0;
}
