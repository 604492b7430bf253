// Storage backends measured in one run, against local disk: local, S3 (s3rver), GCS (the
// project's test server) and Azure (azurite), all started here on 127.0.0.1.
// 1. Raw objects: W writers upload one object each, then W readers read them back, with
//    max-async-connections 1, 4 and 16; MB/s each way and the peak memory of the process
//    that did it, printed beside its bound W x (connections + 1) x part size (+ one 8 MiB
//    read chunk per reader).
// 2. Backup and restore jobs of N x 1 KiB records on a devcluster to each backend, MB/s
//    and the ratio to local disk. Medians of BENCH_RUNS (default 3).
// 3. The memory budget: a default S3 backup (parallel 8, 16 parts in flight per file) and
//    restore of BENCH_MEMORY_RECORDS, and a restore with batch-size 4,000, each with
//    the budget off (1 TiB) and at its default 256 MiB, in one run on one emulator: MB/s
//    and the peak RSS of the process that ran the job.
// The emulators are Node.js programs sharing the machine's cores: their figures bound
// what abs's clients can show, and are not what a cloud would give.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "backup/backup_job.h"
#include "client/client.h"
#include "common/memory_budget.h"
#include "restore/restore_job.h"
#include "storage/registry.h"
#include "tests/integration/emulator.h"
#include "tests/integration/test_cluster.h"

using namespace absvc;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kPart = 5 << 20;

double Secs(Steady::time_point a) {
  return std::chrono::duration<double>(Steady::now() - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

long RssKb() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long EnvInt(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v ? std::atol(v) : fallback;
}

// Runs `measure` in a child process, so that the peak memory it reports is its own, and
// returns what it measured (a trivially copyable struct; {} when the child died).
template <typename Figures, typename Measure>
Figures InChild(Measure measure) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Figures r = measure();
    (void)!::write(fds[1], &r, sizeof r);
    ::_exit(0);
  }
  ::close(fds[1]);
  Figures r;
  if (::read(fds[0], &r, sizeof r) != sizeof r) r = {};
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return r;
}

struct Raw {
  double mbs = 0, peak_mb = 0;
  bool ok = false;
};

// One phase (writing the objects, or reading them back) in a child process, so its peak
// memory is its own.
Raw MeasureRaw(const storage::StorageSpec& spec, int writers, size_t object_bytes, bool write) {
  return InChild<Raw>([&] {
    Raw r;
    long base_kb = RssKb();
    auto s = storage::OpenStorage(spec);
    if (s.ok()) {
      std::string block(1 << 20, 'b');
      for (size_t i = 0; i < block.size(); ++i)
        block[i] = static_cast<char>((i * 131) >> 7);
      std::atomic<bool> failed{false};
      auto t0 = Steady::now();
      std::vector<std::thread> threads;
      for (int w = 0; write && w < writers; ++w) {
        threads.emplace_back([&, w] {
          auto out = (*s)->OpenWriter("bench/object-" + std::to_string(w));
          if (!out.ok()) return void(failed = true);
          for (size_t done = 0; done < object_bytes; done += block.size())
            if (!(*out)->Write(block).ok()) failed = true;
          if (!(*out)->Close().ok()) failed = true;
        });
      }
      for (auto& t : threads)
        t.join();
      threads.clear();
      for (int w = 0; !write && w < writers; ++w) {
        threads.emplace_back([&, w] {
          auto in = (*s)->OpenReader("bench/object-" + std::to_string(w));
          if (!in.ok()) return void(failed = true);
          std::string buf(1 << 20, '\0');
          size_t total = 0;
          while (true) {
            auto n = (*in)->Read(buf.data(), buf.size());
            if (!n.ok()) return void(failed = true);
            if (*n == 0) break;
            total += *n;
          }
          if (total != object_bytes) failed = true;
        });
      }
      for (auto& t : threads)
        t.join();
      double secs = Secs(t0);
      if (!write) (void)(*s)->Remove("bench/");
      double mb = static_cast<double>(object_bytes) * writers / 1e6;
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      r = {mb / secs, static_cast<double>(u.ru_maxrss - base_kb) / 1024, !failed};
    }
    return r;
  });
}

struct JobFigures {
  double mbs = 0, peak_rss_mb = 0, budget_peak_mb = 0;
  bool ok = false;
};

// One backup or restore job in a child process (so its peak memory is its own), with the
// process's memory budget set to `budget_mib`.
JobFigures MeasureJob(const client::ClientOptions& cluster, const storage::StorageSpec& spec,
                      uint64_t budget_mib, bool backup, size_t batch_size, uint64_t records) {
  return InChild<JobFigures>([&] {
    JobFigures r;
    UseMmapForLargeBuffers();
    ProcessMemoryBudget()->set_limit(budget_mib << 20);
    long base_kb = RssKb();
    auto c = client::Client::Connect(cluster);
    auto s = storage::OpenStorage(spec);
    if (c.ok() && s.ok()) {
      auto t0 = Steady::now();
      uint64_t bytes = 0;
      if (backup) {
        if (auto old = (*s)->List(""); old.ok()) {
          for (const auto& obj : *old)
            (void)(*s)->Remove(obj.path);
        }
        backup::BackupOptions o;
        o.ns = "test";
        auto result = backup::RunBackup(**c, **s, o);
        r.ok = result.ok() && result->record_count == records;
        if (!r.ok) {
          std::fprintf(stderr, "backup: %s\n",
                       result.ok() ? "record count differs" : result.status().ToString().c_str());
        }
        if (result.ok()) bytes = result->byte_count;
      } else {
        restore::RestoreOptions ro;
        ro.directories = {""};
        ro.batch_size = batch_size;
        ro.policy.no_generation = true;
        restore::RestoreCounters counters;
        Status st = restore::RunRestore(**c, **s, ro, counters);
        r.ok = st.ok() && counters.inserted.load() == records;
        if (!r.ok) {
          std::fprintf(stderr, "restore: %s, %llu inserted\n", st.ToString().c_str(),
                       static_cast<unsigned long long>(counters.inserted.load()));
        }
        bytes = counters.bytes.load();
      }
      r.mbs = static_cast<double>(bytes) / 1e6 / Secs(t0);
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      r.peak_rss_mb = static_cast<double>(u.ru_maxrss - base_kb) / 1024;
      r.budget_peak_mb = static_cast<double>(ProcessMemoryBudget()->counts().peak) / (1 << 20);
    }
    return r;
  });
}

}  // namespace

int main() {
  const int runs = static_cast<int>(EnvInt("BENCH_RUNS", 3));
  const int writers = static_cast<int>(EnvInt("BENCH_WRITERS", 4));
  const size_t object_bytes = static_cast<size_t>(EnvInt("BENCH_OBJECT_MB", 24)) << 20;
  const uint64_t n = static_cast<uint64_t>(EnvInt("BENCH_RECORDS", 200000));
  fs::path dir = fs::temp_directory_path() / ("abs-storage-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "s3");
  fs::create_directories(dir / "azurite");
  auto s3 = testing::Emulator::Start("s3.js", {(dir / "s3").string(), "bench"});
  auto gcs = testing::Emulator::Start("gcs.js", {(dir / "gcs-key.json").string(), "bench"});
  auto az = testing::Emulator::Start("azure.js", {(dir / "azurite").string(), "bench"});
  if (!s3.ok() || !gcs.ok() || !az.ok()) {
    std::fprintf(stderr, "emulators did not start (npm ci?)\n");
    return 1;
  }
  auto spec_for = [&](const std::string& kind, int connections) {
    storage::StorageSpec spec;
    spec.min_part_size = kPart;
    spec.max_async_connections = connections;
    if (kind == "local") {
      spec.path = (dir / "local").string();
    } else if (kind == "s3") {
      spec.kind = storage::StorageKind::kS3;
      spec.bucket = "bench";
      spec.s3_region = "us-east-1";
      spec.s3_endpoint_override = (*s3)->endpoint();
      spec.s3_access_key_id = spec.s3_secret_access_key = "S3RVER";
    } else if (kind == "gcs") {
      spec.kind = storage::StorageKind::kGcs;
      spec.bucket = "bench";
      spec.gcs_endpoint = (*gcs)->endpoint();
      spec.gcs_key_file_path = (dir / "gcs-key.json").string();
    } else {
      spec.kind = storage::StorageKind::kAzure;
      spec.bucket = "bench";
      spec.azure_endpoint = (*az)->endpoint() + "/devstoreaccount1";
      spec.azure_account_name = "devstoreaccount1";
      spec.azure_account_key =
          "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==";
    }
    return spec;
  };
  // BENCH_STORES picks some ("local,gcs"); local is always measured, as the reference.
  std::vector<std::string> kinds = {"local"};
  std::string wanted = std::getenv("BENCH_STORES") ? std::getenv("BENCH_STORES") : "s3,gcs,azure";
  for (const char* k : {"s3", "gcs", "azure"})
    if (wanted.find(k) != std::string::npos) kinds.push_back(k);

  std::printf("== raw objects: %d writers x %zu MiB, part size %lld MiB (median of %d)\n", writers,
              object_bytes >> 20, static_cast<long long>(kPart >> 20), runs);
  std::printf(
      "(bound: the buffers abs holds; the process adds ~10 MiB for the HTTP client and "
      "thread stacks)\n");
  std::printf("%-6s %5s %11s %16s %11s %16s\n", "store", "conns", "write MB/s", "peak/bound MiB",
              "read MB/s", "peak/bound MiB");
  double local_write = 0, local_read = 0;
  for (const auto& kind : kinds) {
    for (int connections : {1, 4, 16}) {
      if (kind == "local" && connections > 1) break;  // files have no parts in flight
      std::vector<double> w, r, write_peak, read_peak;
      bool ok = true;
      for (int i = 0; i < runs; ++i) {
        Raw up = MeasureRaw(spec_for(kind, connections), writers, object_bytes, true);
        Raw down = MeasureRaw(spec_for(kind, connections), writers, object_bytes, false);
        ok = ok && up.ok && down.ok;
        w.push_back(up.mbs);
        r.push_back(down.mbs);
        write_peak.push_back(up.peak_mb);
        read_peak.push_back(down.peak_mb);
      }
      // Writing: per writer, the parts in flight and the one filling. Reading: one 8 MiB
      // ranged read per reader. Local files buffer nothing of their own.
      int write_bound =
          kind == "local" ? 0 : writers * (connections + 1) * static_cast<int>(kPart >> 20);
      int read_bound = kind == "local" ? 0 : writers * 8;
      if (kind == "local") {
        local_write = Median(w);
        local_read = Median(r);
      }
      std::printf("%-6s %5d %11.0f %9.0f / %-4d %11.0f %9.0f / %-4d (%.2fx / %.2fx local)%s\n",
                  kind.c_str(), connections, Median(w), Median(write_peak), write_bound, Median(r),
                  Median(read_peak), read_bound, Median(w) / local_write, Median(r) / local_read,
                  ok ? "" : "  FAILED");
    }
  }

  std::printf("== backup and restore jobs: %llu x 1 KiB records, parallel 4, connections 4\n",
              static_cast<unsigned long long>(n));
  testing::DevClusterArgs args;
  args.extra = {"--namespace", "test:rf=1"};
  auto tc = testing::TestCluster::StartDevCluster(args);
  if (!tc.ok()) return std::fprintf(stderr, "%s\n", tc.status().ToString().c_str()), 1;
  auto client = client::Client::Connect((*tc)->Options());
  if (!client.ok()) return std::fprintf(stderr, "%s\n", client.status().ToString().c_str()), 1;
  auto& c = **client;
  {
    std::vector<client::BatchWriteRecord> batch;
    const std::string payload(1024, 'x');
    for (uint64_t from = 0; from < n; from += 500) {
      batch.clear();
      for (uint64_t i = from; i < std::min(n, from + 500); ++i) {
        client::BatchWriteRecord r;
        r.key =
            client::Key::FromUserKey("test", "bench", client::Value::Int(static_cast<int64_t>(i)));
        r.AddBin({"payload", client::Value::Blob(payload)});
        batch.push_back(std::move(r));
      }
      (void)c.BatchWrite(batch);
    }
  }
  double local_backup = 0, local_restore = 0;
  for (const auto& kind : kinds) {
    std::vector<double> backups, restores;
    uint64_t bytes = 0;
    bool ok = true;
    for (int i = 0; i < runs; ++i) {
      storage::StorageSpec spec = spec_for(kind, 4);
      spec.path = kind == "local" ? (dir / "jobs").string() : "jobs";
      auto store = storage::OpenStorage(spec);
      if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
      auto old = (*store)->List("");
      if (old.ok()) {
        for (const auto& o : *old)
          (void)(*store)->Remove(o.path);
      }
      backup::BackupOptions o;
      o.ns = "test";
      o.parallel = 4;
      auto t0 = Steady::now();
      auto result = backup::RunBackup(c, **store, o);
      backups.push_back(Secs(t0));
      ok = ok && result.ok() && result->record_count == n;
      if (result.ok()) bytes = result->byte_count;
      restore::RestoreOptions ro;
      ro.directories = {""};
      ro.parallel = 4;
      ro.policy.no_generation = true;
      restore::RestoreCounters counters;
      t0 = Steady::now();
      Status st = restore::RunRestore(c, **store, ro, counters);
      restores.push_back(Secs(t0));
      ok = ok && st.ok() && counters.inserted.load() == n;
    }
    double mb = static_cast<double>(bytes) / 1e6;
    double b = mb / Median(backups), r = mb / Median(restores);
    if (kind == "local") {
      local_backup = b;
      local_restore = r;
    }
    std::printf("%-6s backup %6.0f MB/s (%.2fx local)  restore %6.0f MB/s (%.2fx local)%s\n",
                kind.c_str(), b, b / local_backup, r, r / local_restore, ok ? "" : "  FAILED");
  }

  // 3. The memory budget, on S3 (the backend with parts in flight).
  if (std::find(kinds.begin(), kinds.end(), "s3") != kinds.end()) {
    const uint64_t m = static_cast<uint64_t>(EnvInt("BENCH_MEMORY_RECORDS", 400000));
    for (uint64_t i = n; i < m; i += 500) {
      std::vector<client::BatchWriteRecord> batch;
      const std::string payload(1024, 'x');
      for (uint64_t k = i; k < std::min(m, i + 500); ++k) {
        client::BatchWriteRecord r;
        r.key =
            client::Key::FromUserKey("test", "bench", client::Value::Int(static_cast<int64_t>(k)));
        r.AddBin({"payload", client::Value::Blob(payload)});
        batch.push_back(std::move(r));
      }
      (void)c.BatchWrite(batch);
    }
    const uint64_t total = std::max(n, m);
    std::printf(
        "== memory budget: S3, %llu x 1 KiB records, default settings (parallel 8, 5 MiB parts, "
        "16 in flight per file); peak RSS of the job's process (median of %d)\n",
        static_cast<unsigned long long>(total), runs);
    std::printf("%-34s %12s %10s %10s %12s %10s %10s\n", "job", "off MB/s", "RSS MiB", "held MiB",
                "256 MiB MB/s", "RSS MiB", "held MiB");
    storage::StorageSpec spec = spec_for("s3", 16);
    spec.path = "memory";
    struct Case {
      const char* name;
      bool backup;
      size_t batch_size;
    };
    for (const Case& job : {Case{"backup", true, 0}, Case{"restore", false, 128},
                            Case{"restore, batch-size 4,000", false, 4000}}) {
      std::vector<double> mbs[2], rss[2], held[2];
      bool ok = true;
      for (int i = 0; i < runs; ++i) {
        for (int b = 0; b < 2; ++b) {
          // The restores read the backup that the backup row left.
          JobFigures f = MeasureJob((*tc)->Options(), spec, b == 0 ? 1 << 20 : 256, job.backup,
                                    job.batch_size, total);
          ok = ok && f.ok;
          mbs[b].push_back(f.mbs);
          rss[b].push_back(f.peak_rss_mb);
          held[b].push_back(f.budget_peak_mb);
        }
      }
      std::printf("%-34s %12.0f %10.0f %10.0f %12.0f %10.0f %10.0f  (%.2fx throughput)%s\n",
                  job.name, Median(mbs[0]), Median(rss[0]), Median(held[0]), Median(mbs[1]),
                  Median(rss[1]), Median(held[1]), Median(mbs[1]) / Median(mbs[0]),
                  ok ? "" : "  FAILED");
    }
  }
  fs::remove_all(dir);
  return 0;
}
