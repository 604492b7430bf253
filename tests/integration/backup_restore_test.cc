// Backup and restore engines end to end on abs-devcluster processes: a whole-namespace
// backup and two node-list slices taken at the same time, verify of the pair and of one
// slice alone, truncate, a parallel restore, and every record compared bin for bin.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backup/backup_job.h"
#include "backup/verify.h"
#include "backupset/checkpoint.h"
#include "backupset/metadata.h"
#include "client/client.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "emulator.h"
#include "restore/restore_job.h"
#include "scoped_env.h"
#include "storage/local/local_storage.h"
#include "storage/storage.h"
#include "storage/wrappers/wrappers.h"
#include "test_cluster.h"

namespace absvc {
namespace {

namespace fs = std::filesystem;
using testing::DevClusterArgs;
using testing::TestCluster;

uint64_t RoundTripRecords() {
  const char* n = std::getenv("ABS_ROUNDTRIP_RECORDS");
  return n ? std::strtoull(n, nullptr, 10) : 1000000;
}

// Record i: an integer bin, a 1 KiB payload derived from i, and every tenth a TTL.
std::string Payload(uint64_t i) {
  std::string p(1024, static_cast<char>('a' + i % 26));
  std::memcpy(p.data(), &i, sizeof i);
  return p;
}

Status Load(client::Client& c, const std::string& set, uint64_t n) {
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  Status first;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<client::BatchWriteRecord> batch;
      for (uint64_t from = next.fetch_add(500); from < n; from = next.fetch_add(500)) {
        batch.clear();
        for (uint64_t i = from; i < std::min(n, from + 500); ++i) {
          client::BatchWriteRecord r;
          r.key =
              client::Key::FromUserKey("test", set, client::Value::Int(static_cast<int64_t>(i)));
          r.send_key = true;
          r.ttl = i % 10 == 0 ? static_cast<uint32_t>(3600 + i % 100) : client::kTtlNeverExpire;
          r.AddBin({"i", client::Value::Int(static_cast<int64_t>(i))});
          r.AddBin({"payload", client::Value::Blob(Payload(i))});
          batch.push_back(std::move(r));
        }
        Status st = c.BatchWrite(batch);
        for (const auto& r : batch) {
          if (st.ok() && r.result != 0) st = Status::Server(r.result, "load");
        }
        if (!st.ok()) {
          std::lock_guard lock(mu);
          first = st;
          return;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  return first;
}

struct Snapshot {
  uint16_t generation;
  uint32_t void_time;
};

// Every record of the namespace, checked against the generator; returns digest -> meta.
std::map<std::string, Snapshot> ScanAndCheck(client::Client& c, uint64_t* count, uint64_t* bad) {
  std::map<std::string, Snapshot> out;
  std::mutex mu;
  client::ScanRequest req;
  req.ns = "test";
  auto cursors = client::CursorsForRange(0, 4096);
  Status st = c.ScanPartitions(req, cursors, [&](const client::ScanRecordView& r) {
    bool ok = r.user_key.size() == 9 && r.bins->size() == 2;
    if (ok) {
      int64_t i = static_cast<int64_t>(LoadU64BE(r.user_key.data() + 1));
      for (const auto& b : *r.bins) {
        if (b.name == "i")
          ok = ok && b.value.size() == 8 && static_cast<int64_t>(LoadU64BE(b.value.data())) == i;
        if (b.name == "payload") ok = ok && b.value == Payload(static_cast<uint64_t>(i));
      }
      ok = ok && ((i % 10 == 0) == (r.void_time != 0));
    }
    std::lock_guard lock(mu);
    if (!ok) ++*bad;
    out[std::string(reinterpret_cast<const char*>(r.digest), 20)] = {r.generation, r.void_time};
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  *count = out.size();
  return out;
}

// Records in the backup's files, by the files' own counts.
uint64_t RecordsInFiles(const backup::BackupResult& r) {
  uint64_t n = 0;
  for (const auto& f : r.files)
    n += f.records;
  return n;
}

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) {
      GTEST_SKIP() << "these tests truncate the namespace and stop nodes: devcluster only";
    }
    dir_ = fs::temp_directory_path() /
           ("abs-br-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<storage::Storage> Store(const std::string& name) {
    auto s = storage::OpenLocalStorage((dir_ / name).string());
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }
  fs::path dir_;
};

TEST_F(BackupRestoreTest, ParallelNodeSlicesTogetherRestoreEveryRecord) {
  const uint64_t n = RoundTripRecords();
  DevClusterArgs args;
  args.extra = {"--racks", "1,2,3", "--namespace", "test:rf=2"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto& c = **client;
  ASSERT_TRUE(Load(c, "rt", n).ok());
  uint64_t before_count = 0, bad = 0;
  auto before = ScanAndCheck(c, &before_count, &bad);
  ASSERT_EQ(before_count, n);
  ASSERT_EQ(bad, 0u);

  // A whole-namespace backup, and two node-list slices at the same time.
  auto whole_store = Store("whole"), a_store = Store("slice-a"), b_store = Store("slice-b");
  backup::BackupOptions whole;
  whole.ns = "test";
  whole.parallel = 4;
  whole.file_limit_bytes = std::max<uint64_t>(1 << 20, n * 1400 / 12);  // about 3 files per worker
  auto whole_result = backup::RunBackup(c, *whole_store, whole);
  ASSERT_TRUE(whole_result.ok()) << whole_result.status().ToString();
  EXPECT_EQ(whole_result->record_count, n);
  EXPECT_GT(whole_result->files.size(), 4u) << "files rotate at the file limit";

  const auto& nodes = (*tc)->nodes();
  backup::BackupOptions a = whole, b = whole;
  a.slice.nodes = {"127.0.0.1:" + std::to_string(nodes[0].port)};
  b.slice.nodes = {nodes[1].id, "127.0.0.1:" + std::to_string(nodes[2].port)};
  a.codec.compression = storage::Compression::kZstd;
  b.codec.compression = storage::Compression::kZstd;
  Result<backup::BackupResult> ra = Status::Internal("not run"), rb = Status::Internal("not run");
  std::thread ta([&] { ra = backup::RunBackup(c, *a_store, a); });
  std::thread tb([&] { rb = backup::RunBackup(c, *b_store, b); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(ra->record_count + rb->record_count, n);
  EXPECT_TRUE((ra->partitions & rb->partitions).empty());

  auto pair = backup::Verify({{a_store.get(), ""}, {b_store.get(), ""}});
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(pair->complete()) << pair->Format();
  auto alone = backup::Verify({{a_store.get(), ""}});
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE(alone->complete());
  EXPECT_NE(alone->Format().find("gaps"), std::string::npos) << alone->Format();
  auto overlap =
      backup::Verify({{a_store.get(), ""}, {b_store.get(), ""}, {whole_store.get(), ""}});
  EXPECT_NE(overlap->Format().find("overlaps"), std::string::npos);
  EXPECT_FALSE(overlap->complete());

  ASSERT_TRUE(c.Truncate("test", "").ok());
  uint64_t empty_count = 0;
  ScanAndCheck(c, &empty_count, &bad);
  ASSERT_EQ(empty_count, 0u);

  // Restore both slices at the same time.
  restore::RestoreOptions ro;
  ro.directories = {""};
  ro.parallel = 4;
  ro.codec.compression = storage::Compression::kZstd;
  restore::RestoreCounters counters;
  Status sa, sb;
  std::thread xa([&] { sa = restore::RunRestore(c, *a_store, ro, counters); });
  std::thread xb([&] { sb = restore::RunRestore(c, *b_store, ro, counters); });
  xa.join();
  xb.join();
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_EQ(counters.read.load(), n);
  EXPECT_EQ(counters.inserted.load(), n);
  EXPECT_EQ(counters.read.load(), counters.inserted + counters.existed + counters.fresher +
                                      counters.skipped + counters.expired + counters.ignored);

  uint64_t after_count = 0;
  bad = 0;
  auto after = ScanAndCheck(c, &after_count, &bad);
  EXPECT_EQ(after_count, n);
  EXPECT_EQ(bad, 0u) << "every record equal bin for bin";
  uint64_t meta_mismatch = 0;
  for (const auto& [digest, snap] : before) {
    auto it = after.find(digest);
    if (it == after.end() || it->second.generation != snap.generation ||
        (snap.void_time == 0) != (it->second.void_time == 0) ||
        std::llabs(static_cast<long long>(it->second.void_time) - snap.void_time) > 2) {
      ++meta_mismatch;
    }
  }
  EXPECT_EQ(meta_mismatch, 0u) << "generation and TTL within 2 s";

  // Restoring again changes nothing: the cluster's generation is not older.
  restore::RestoreCounters again;
  restore::RestoreOptions plain = ro;
  plain.codec = {};
  ASSERT_TRUE(restore::RunRestore(c, *whole_store, plain, again).ok());
  EXPECT_EQ(again.fresher.load(), n);
}

TEST_F(BackupRestoreTest, RackAndPartitionListSlicesCoverWhatTheyName) {
  DevClusterArgs args;
  args.extra = {"--racks", "1,2,3", "--namespace", "test:rf=2"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  ASSERT_TRUE(Load(c, "slices", 20000).ok());
  // Racks 1 and 2+3 at the same time: a complete, non-overlapping pair.
  auto r1 = Store("rack1"), r23 = Store("rack23");
  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 2;
  backup::BackupOptions a = o, b = o;
  a.slice.racks = {1};
  b.slice.racks = {2, 3};
  auto ra = backup::RunBackup(c, *r1, a);
  auto rb = backup::RunBackup(c, *r23, b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->record_count + rb->record_count, 20000u);
  EXPECT_TRUE(backup::Verify({{r1.get(), ""}, {r23.get(), ""}})->complete());
  // A partition-list covers exactly its partitions.
  auto p = Store("plist");
  backup::BackupOptions pl = o;
  pl.slice.partition_list = "0-2048";
  auto rp = backup::RunBackup(c, *p, pl);
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(rp->partitions.ToList(), "0-2048");
  for (const auto& [pid, n] : rp->records_per_partition)
    EXPECT_LT(pid, 2048u);
  auto rest = Store("plist-rest");
  pl.slice.partition_list = "2048-2048";
  ASSERT_TRUE(backup::RunBackup(c, *rest, pl).ok());
  auto v = backup::Verify({{p.get(), ""}, {rest.get(), ""}});
  EXPECT_TRUE(v->complete()) << v->Format();
  // The same slice twice covers everything, twice over in part: overlapping, not complete.
  auto twice = backup::Verify({{p.get(), ""}, {rest.get(), ""}, {p.get(), ""}});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->Verdict(), backup::VerifyVerdict::kOverlapping) << twice->Format();
  EXPECT_NE(twice->Format().find("overlaps (start-count): 0-2048"), std::string::npos)
      << twice->Format();
  // Absent racks and nodes fail the job by name, before anything is written.
  auto none = Store("none");
  backup::BackupOptions bad = o;
  bad.slice.racks = {9};
  auto st = backup::RunBackup(c, *none, bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("rack 9"), std::string::npos) << st.status().ToString();
  bad.slice.racks.clear();
  bad.slice.nodes = {"127.0.0.1:1"};
  st = backup::RunBackup(c, *none, bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_TRUE(none->List("")->empty());
  // Single-record writes restore the same data when batch writes are off.
  ASSERT_TRUE(c.Truncate("test", "").ok());
  restore::RestoreOptions ro;
  ro.directories = {""};
  ro.disable_batch_writes = true;
  restore::RestoreCounters counters;
  ASSERT_TRUE(restore::RunRestore(c, *r1, ro, counters).ok());
  EXPECT_EQ(counters.inserted.load(), ra->record_count);
}

// max-concurrent-nodes: the workers together scan at most that many nodes at once, and the
// backup is as complete as without the limit.
TEST_F(BackupRestoreTest, MaxConcurrentNodesBoundsTheNodesScannedAtOnce) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto& c = **client;
  const uint64_t n = 6000;
  ASSERT_TRUE(Load(c, "gate", n).ok());
  for (size_t limit : {1, 2}) {
    auto store = Store("gate" + std::to_string(limit));
    backup::BackupOptions o;
    o.ns = "test";
    o.sets = {"gate"};
    o.parallel = 6;
    o.max_concurrent_nodes = limit;
    o.scan_compression = limit == 2;  // the second run reads compressed scan answers
    backup::BackupProgress progress;
    auto r = backup::RunBackup(c, *store, o, &progress);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->record_count, n);
    EXPECT_GE(progress.peak_concurrent_nodes.load(), 1u);
    EXPECT_LE(progress.peak_concurrent_nodes.load(), limit);
    auto v = backup::Verify({{store.get(), ""}});
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->complete()) << v->Format();
  }
}

// total-timeout bounds each worker's scan: a scan slowed past it fails with kTimeout
// naming the bound, and resuming without the bound finishes the same backup whole.
TEST_F(BackupRestoreTest, TotalTimeoutEndsAScanThatRunsPastIt) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto& c = **client;
  const uint64_t n = 4000;
  ASSERT_TRUE(Load(c, "late", n).ok());
  auto store = Store("late");
  backup::BackupOptions o;
  o.ns = "test";
  o.sets = {"late"};
  o.parallel = 2;
  o.records_per_second = 2000;  // about two seconds of scanning
  o.total_timeout = std::chrono::milliseconds(300);
  o.resumable = true;
  auto r = backup::RunBackup(c, *store, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout) << r.status().ToString();
  EXPECT_NE(r.status().message().find("total-timeout of 300 ms"), std::string::npos)
      << r.status().ToString();
  o.total_timeout = std::chrono::milliseconds(0);
  o.records_per_second = 0;
  auto resumed = backup::RunBackup(c, *store, o);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->record_count, n);
  auto v = backup::Verify({{store.get(), ""}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->complete()) << v->Format();
}

TEST_F(BackupRestoreTest, ANodeStoppedMidBackupLosesNothing) {
  DevClusterArgs args;
  args.extra = {"--namespace", "test:rf=2"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  const uint64_t n = 30000;
  ASSERT_TRUE(Load(**client, "loss", n).ok());
  auto store = Store("b");
  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 4;
  o.records_per_second = 60000;  // about half a second, so the stop lands mid-backup
  backup::BackupProgress progress;
  std::thread stopper([&] {
    while (progress.records.load() < n / 4)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    (void)(*tc)->RawInfo(0, "dev-fault:cmd=stop;node=" + (*tc)->nodes()[1].id);
  });
  auto r = backup::RunBackup(**client, *store, o, &progress);
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->record_count, n);
  EXPECT_LT(progress.records.load(), n + 1);
  auto v = backup::Verify({{store.get(), ""}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->complete()) << v->Format();
  EXPECT_EQ((*client)->Nodes().size(), 2u);
  EXPECT_EQ(RecordsInFiles(*r), n) << "no record written twice";

  // A restore gives back exactly the records that were there, compared by digest.
  uint64_t count = 0, bad = 0;
  auto before = ScanAndCheck(**client, &count, &bad);
  ASSERT_EQ(count, n);
  ASSERT_TRUE((*client)->Truncate("test", "").ok());
  restore::RestoreOptions ro;
  ro.directories = {""};
  restore::RestoreCounters counters;
  Status restored = restore::RunRestore(**client, *store, ro, counters);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_EQ(counters.read.load(), n);
  auto after = ScanAndCheck(**client, &count, &bad);
  EXPECT_EQ(bad, 0u);
  ASSERT_EQ(after.size(), before.size());
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }))
      << "the same digests";
}

TEST_F(BackupRestoreTest, DamagedFilesWrongKeysAndWrongSettingsFailClearly) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(Load(**client, "dmg", 3000).ok());
  auto store = Store("enc");
  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 2;
  o.codec.compression = storage::Compression::kZstd;
  o.codec.encryption = storage::Encryption::kAes128;
  o.codec.key = std::string(16, 'K');
  ASSERT_TRUE(backup::RunBackup(**client, *store, o).ok());
  auto run = [&](storage::Storage& s, storage::CodecOptions codec) {
    restore::RestoreOptions ro;
    ro.directories = {""};
    ro.codec = codec;
    restore::RestoreCounters counters;
    return restore::RunRestore(**client, s, ro, counters);
  };
  storage::CodecOptions wrong_key = o.codec;
  wrong_key.key = std::string(16, 'X');
  Status st = run(*store, wrong_key);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(".asb"), std::string::npos) << st.ToString();
  storage::CodecOptions none;
  st = run(*store, none);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("compression is ZSTD"), std::string::npos) << st.ToString();

  // A plain backup with one file cut short and another altered.
  auto plain = Store("plain");
  backup::BackupOptions p;
  p.ns = "test";
  p.parallel = 2;
  auto pr = backup::RunBackup(**client, *plain, p);
  ASSERT_TRUE(pr.ok());
  ASSERT_GE(pr->files.size(), 2u);
  fs::path f0 = dir_ / "plain" / pr->files[0].name;
  fs::resize_file(f0, fs::file_size(f0) - 100);
  st = run(*plain, none);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(pr->files[0].name), std::string::npos) << st.ToString();
  auto v = backup::Verify({{plain.get(), ""}});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->complete());
  EXPECT_NE(v->Format().find(pr->files[0].name), std::string::npos) << v->Format();
  fs::path f1 = dir_ / "plain" / pr->files[1].name;
  {
    std::fstream f(f1, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x07');
  }
  v = backup::Verify({{plain.get(), ""}});
  EXPECT_NE(v->Format().find(pr->files[1].name + " does not match its SHA-256"), std::string::npos)
      << v->Format();
}

TEST_F(BackupRestoreTest, IndexesUdfsAndIncrementalBackups) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  ASSERT_TRUE(Load(c, "inc", 1000).ok());
  EXPECT_EQ(*c.InfoAny("sindex-create:namespace=test;indexname=idx_i;set=inc;bin=i;type=numeric"),
            "ok");
  EXPECT_EQ(*c.InfoAny("udf-put:filename=f.lua;content=cmV0dXJuIDE=;content-len=12;udf-type=LUA"),
            "ok");
  auto full_store = Store("full");
  backup::BackupOptions full;
  full.ns = "test";
  auto fr = backup::RunBackup(c, *full_store, full);
  ASSERT_TRUE(fr.ok());
  EXPECT_EQ(fr->sindex_count, 1u);
  EXPECT_EQ(fr->udf_count, 1u);
  int64_t t = UnixNowNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.Put(client::Key::FromUserKey("test", "inc", client::Value::Int(5)),
                    {{"i", client::Value::Int(-5)}})
                  .ok());
  auto inc_store = Store("incr");
  backup::BackupOptions inc = full;
  inc.modified_after_unix_ns = t;
  inc.no_indexes = inc.no_udfs = true;
  auto ir = backup::RunBackup(c, *inc_store, inc);
  ASSERT_TRUE(ir.ok());
  EXPECT_EQ(ir->record_count, 1u);
  EXPECT_NE(full_store->ReadAll("metadata.yaml")->find("from: 0001-01-01T00:00:00Z"),
            std::string::npos);
  EXPECT_EQ(inc_store->ReadAll("metadata.yaml")->find("from: 0001-01-01"), std::string::npos);

  EXPECT_EQ(*c.InfoAny("sindex-delete:namespace=test;indexname=idx_i"), "ok");
  EXPECT_EQ(*c.InfoAny("udf-remove:filename=f.lua"), "ok");
  ASSERT_TRUE(c.Truncate("test", "").ok());
  restore::RestoreOptions ro;
  ro.directories = {""};
  restore::RestoreCounters counters;
  ASSERT_TRUE(restore::RunRestore(c, *full_store, ro, counters).ok());
  EXPECT_EQ(counters.index_count.load(), 1u);
  EXPECT_EQ(counters.udf_count.load(), 1u);
  EXPECT_NE(c.InfoAny("sindex-list")->find("indexname=idx_i"), std::string::npos);
  EXPECT_NE(c.InfoAny("udf-list")->find("filename=f.lua"), std::string::npos);
  restore::RestoreCounters inc_counters;
  ASSERT_TRUE(restore::RunRestore(c, *inc_store, ro, inc_counters).ok());
  auto rec = c.Get(client::Key::FromUserKey("test", "inc", client::Value::Int(5)));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->bins[0].value, client::Value::Int(-5)) << "the incremental's newer record wins";
}

// Changes one base64 character at or after `from` (inside a run of at least 16 base64
// characters, or right after `anchor` when one is given); the file keeps its size.
// A resumable backup that fails midway keeps its complete files and checkpoint; run
// again, it resumes: it scans only what is left, and the result holds every record
// exactly once (the files' counts add up to the namespace, and a restore gives every
// record back). A damaged checkpoint, or other options, start it over instead.
// The backup in `dir` verifies complete, and restored into the emptied namespace gives
// back exactly its n records, each read once.
void ExpectVerifiedAndRestoredWhole(client::Client& c, storage::Storage& storage,
                                    const std::string& dir, uint64_t n) {
  auto v = backup::Verify({{&storage, dir}});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->complete()) << v->Format();
  ASSERT_TRUE(c.Truncate("test", "").ok());
  restore::RestoreOptions ro;
  ro.directories = {dir};
  restore::RestoreCounters counters;
  Status restored = restore::RunRestore(c, storage, ro, counters);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_EQ(counters.read.load(), n) << "each record read once from the files";
  uint64_t count = 0, bad = 0;
  ScanAndCheck(c, &count, &bad);
  EXPECT_EQ(count, n);
  EXPECT_EQ(bad, 0u);
}

// parallel-write: 8 scan workers share 2 files, each rotating at file-limit. Storage faults
// stop the backup at three different files; each resumes from a checkpoint that names
// only files whose records its cursors count, so the finished set holds every record once.
TEST_F(BackupRestoreTest, ParallelWriteSharesFilesAndResumesWhole) {
  DevClusterArgs args;
  args.nodes = 2;
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 30000;
  ASSERT_TRUE(Load(c, "shared", n).ok());
  std::shared_ptr<storage::Storage> local = Store("b");

  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 8;
  o.parallel_write = 2;
  o.file_limit_bytes = 128 << 10;
  o.resumable = true;
  o.directory = "whole";
  auto whole = backup::RunBackup(c, *local, o);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->record_count, n);
  EXPECT_EQ(RecordsInFiles(*whole), n);
  size_t data_files = 0;
  for (const auto& f : whole->files) {
    if (f.name.rfind("metadata_", 0) == 0) continue;
    ++data_files;
    EXPECT_TRUE(f.name.rfind("0_", 0) == 0 || f.name.rfind("1_", 0) == 0)
        << f.name << ": only 2 files are written at once";
  }
  EXPECT_GT(data_files, 4u) << "the shared files rotate at file-limit";

  o.directory = "resumed";
  uint64_t resumed_runs = 0;
  for (int nth : {5, 9, 14}) {
    auto plan = std::make_shared<storage::FaultPlan>();
    plan->Add({.op = storage::StorageStats::kOpenWriter, .nth = nth, .from_then_on = true});
    auto failed = backup::RunBackup(c, *storage::WithFaults(local, plan), o);
    ASSERT_FALSE(failed.ok());
    resumed_runs += fs::exists(dir_ / "b" / "resumed" / backupset::kCheckpointFile);
  }
  EXPECT_GT(resumed_runs, 0u);
  auto last = backup::RunBackup(c, *local, o);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_TRUE(last->resumed);
  EXPECT_GT(last->resumed_records, 0u);
  EXPECT_EQ(last->record_count, n);
  EXPECT_EQ(RecordsInFiles(*last), n) << "no record written twice, none lost";
  ExpectVerifiedAndRestoredWhole(c, *local, "resumed", n);
}

TEST_F(BackupRestoreTest, AFailedBackupResumesFromItsCheckpoint) {
  DevClusterArgs args;
  args.nodes = 2;
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 20000;
  ASSERT_TRUE(Load(c, "resume", n).ok());
  std::shared_ptr<storage::Storage> local = Store("b");
  auto plan = std::make_shared<storage::FaultPlan>();
  // From the 12th file (or checkpoint) on, nothing can be opened: the storage is gone.
  plan->Add({.op = storage::StorageStats::kOpenWriter, .nth = 12, .from_then_on = true});
  auto faulty = storage::WithFaults(local, plan);

  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 4;
  o.file_limit_bytes = 256 << 10;
  o.resumable = true;
  o.directory = "set";
  std::vector<std::string> start_overs;
  o.on_start_over = [&](const std::string& why) { start_overs.push_back(why); };
  auto first = backup::RunBackup(c, *faulty, o);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("injected fault"), std::string::npos)
      << first.status().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "b" / "set" / backupset::kCheckpointFile));
  EXPECT_TRUE(fs::exists(dir_ / "b" / "set" / backupset::kStartFile));

  backup::BackupProgress progress;
  auto second = backup::RunBackup(c, *local, o, &progress);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->resumed);
  EXPECT_GT(second->resumed_files, 0u);
  EXPECT_GT(second->resumed_records, 0u);
  EXPECT_LT(second->resumed_records, n);
  EXPECT_TRUE(start_overs.empty()) << start_overs[0];
  EXPECT_EQ(second->record_count, n);
  EXPECT_EQ(RecordsInFiles(*second), n) << "no record written twice, none lost";
  EXPECT_EQ(progress.records.load(), n) << "progress counts the resumed records too";
  EXPECT_FALSE(fs::exists(dir_ / "b" / "set" / backupset::kCheckpointFile)) << "removed when done";
  ExpectVerifiedAndRestoredWhole(c, *local, "set", n);

  // Resuming a finished backup is refused, naming it.
  auto again = backup::RunBackup(c, *local, o);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict) << again.status().ToString();
  EXPECT_NE(again.status().message().find("already complete"), std::string::npos);

  // A damaged checkpoint: the backup starts over, says why, and is still whole.
  o.directory = "damaged";
  auto plan2 = std::make_shared<storage::FaultPlan>();
  plan2->Add({.op = storage::StorageStats::kOpenWriter, .nth = 8, .from_then_on = true});
  ASSERT_FALSE(backup::RunBackup(c, *storage::WithFaults(local, plan2), o).ok());
  std::ofstream(dir_ / "b" / "damaged" / backupset::kCheckpointFile, std::ios::app) << "}garbage";
  auto over = backup::RunBackup(c, *local, o);
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  EXPECT_FALSE(over->resumed);
  ASSERT_EQ(start_overs.size(), 1u);
  EXPECT_NE(start_overs[0].find("checkpoint is not a JSON object"), std::string::npos)
      << start_overs[0];
  EXPECT_EQ(RecordsInFiles(*over), n);

  // Other options (here, a set filter) start over rather than mix two backups.
  o.directory = "options";
  auto plan3 = std::make_shared<storage::FaultPlan>();
  plan3->Add({.op = storage::StorageStats::kOpenWriter, .nth = 8, .from_then_on = true});
  ASSERT_FALSE(backup::RunBackup(c, *storage::WithFaults(local, plan3), o).ok());
  o.sets = {"resume"};
  auto other = backup::RunBackup(c, *local, o);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE(other->resumed);
  ASSERT_EQ(start_overs.size(), 2u);
  EXPECT_NE(start_overs[1].find("other options"), std::string::npos) << start_overs[1];
  EXPECT_EQ(RecordsInFiles(*other), n);

  // The disk fills up mid-backup: the error says so; once there is room, it resumes.
  o.directory = "full-disk";
  o.sets.clear();
  auto full = std::make_shared<storage::FaultPlan>();
  full->Add({.op = storage::StorageStats::kWrite,
             .nth = 150,
             .error = Status::Io("cannot write full-disk/2_test_9.asb: No space left on device"),
             .from_then_on = true});
  auto cut = backup::RunBackup(c, *storage::WithFaults(local, full), o);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("No space left on device"), std::string::npos)
      << cut.status().ToString();
  auto room = backup::RunBackup(c, *local, o);
  ASSERT_TRUE(room.ok()) << room.status().ToString();
  EXPECT_TRUE(room->resumed);
  EXPECT_EQ(room->record_count, n);
  EXPECT_EQ(RecordsInFiles(*room), n);
  auto v2 = backup::Verify({{local.get(), "full-disk"}});
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->complete()) << v2->Format();

  // A directory that holds something else is never cleared.
  fs::create_directories(dir_ / "b" / "foreign");
  std::ofstream(dir_ / "b" / "foreign" / "mine.txt") << "not a backup";
  o.directory = "foreign";
  auto foreign = backup::RunBackup(c, *local, o);
  EXPECT_EQ(foreign.status().code(), StatusCode::kInvalidArgument) << foreign.status().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "b" / "foreign" / "mine.txt"));
}

// A restore of many files that fails midway (the storage fails a read) is retried with
// the files it restored whole skipped: the retry reads only the rest, and every record
// is back.
TEST_F(BackupRestoreTest, ARetriedRestoreSkipsTheFilesItRestoredWhole) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 20000;
  ASSERT_TRUE(Load(c, "retry", n).ok());
  std::shared_ptr<storage::Storage> local = Store("b");
  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 4;
  o.file_limit_bytes = 256 << 10;
  o.directory = "set";
  ASSERT_TRUE(backup::RunBackup(c, *local, o).ok());
  ASSERT_TRUE(c.Truncate("test", "").ok());

  auto plan = std::make_shared<storage::FaultPlan>();
  plan->Add({.op = storage::StorageStats::kRead, .nth = 50});
  auto faulty = storage::WithFaults(local, plan);
  restore::RestoredFiles restored;
  restore::RestoreOptions ro;
  ro.directories = {"set"};
  ro.parallel = 2;
  ro.restored_files = &restored;
  restore::RestoreCounters first;
  Status st = restore::RunRestore(c, *faulty, ro, first);
  ASSERT_FALSE(st.ok()) << "the fault fired: " << plan->calls(storage::StorageStats::kRead)
                        << " reads";
  EXPECT_GT(restored.size(), 0u);
  const size_t whole = restored.size();

  restore::RestoreCounters second;
  st = restore::RunRestore(c, *local, ro, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(second.read.load(), n) << "the files restored whole were not read again";
  EXPECT_EQ(second.files.load() + whole, restored.size());
  uint64_t count = 0, bad = 0;
  ScanAndCheck(c, &count, &bad);
  EXPECT_EQ(count, n);
  EXPECT_EQ(bad, 0u);
}

void DamageOneCharacter(const fs::path& file, const std::string& anchor = "") {
  std::string text;
  {
    std::ifstream in(file, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t at = std::string::npos;
  if (!anchor.empty()) {
    size_t a = text.find(anchor, text.size() / 2);
    ASSERT_NE(a, std::string::npos) << anchor;
    at = a + anchor.size();
  } else {
    auto b64 = [&](size_t i) { return std::isalnum(static_cast<unsigned char>(text[i])) != 0; };
    for (size_t i = text.size() / 2; i + 16 < text.size(); ++i) {
      bool run = true;
      for (size_t k = 0; k < 16 && run; ++k)
        run = b64(i + k);
      if (run) {
        at = i + 8;
        break;
      }
    }
    ASSERT_NE(at, std::string::npos);
  }
  text[at] = text[at] == 'A' ? 'B' : 'A';
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

bool CountersAddUp(const restore::RestoreCounters& c) {
  return c.read.load() == c.inserted.load() + c.existed.load() + c.fresher.load() +
                              c.skipped.load() + c.expired.load() + c.ignored.load() +
                              c.failed.load();
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

// The manifest is the truth on restore: what changed since the backup was written is
// refused (or, with salvage, left out and listed), never restored silently.
TEST_F(BackupRestoreTest, RestoreRefusesDamagedMissingStrayAndUnfinishedBackups) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 4000;
  ASSERT_TRUE(Load(c, "trust", n).ok());
  backup::BackupOptions o;
  o.ns = "test";
  o.parallel = 4;
  o.file_limit_bytes = 1 << 20;
  auto good = Store("good");
  auto result = backup::RunBackup(c, *good, o);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_GE(result->files.size(), 4u);
  const backup::BackupFile& victim = result->files[1];
  ASSERT_GT(victim.records, 0u);

  // A copy of the good backup to damage.
  auto copy = [&](const std::string& name) {
    fs::remove_all(dir_ / name);
    fs::copy(dir_ / "good", dir_ / name, fs::copy_options::recursive);
    return Store(name);
  };
  struct Outcome {
    Status status;
    uint64_t inserted = 0, in_cluster = 0, bad = 0;
    bool adds_up = false;
    std::string warnings, skipped;
  };
  auto restore_fresh = [&](storage::Storage& s, bool salvage) {
    EXPECT_TRUE(c.Truncate("test", "").ok());
    restore::RestoreOptions ro;
    ro.directories = {""};
    ro.parallel = 2;
    ro.salvage = salvage;
    restore::RestoreCounters counters;
    restore::RestoreNotes notes;
    Outcome out;
    out.status = restore::RunRestore(c, s, ro, counters, &notes);
    out.inserted = counters.inserted.load();
    out.adds_up = CountersAddUp(counters);
    out.warnings = Joined(notes.warnings);
    out.skipped = Joined(notes.skipped);
    ScanAndCheck(c, &out.in_cluster, &out.bad);
    return out;
  };

  // One base64 character changed inside a record's value.
  auto data = copy("data");
  DamageOneCharacter(dir_ / "data" / victim.name);
  Outcome r = restore_fresh(*data, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status.message().find(victim.name), std::string::npos) << r.status.ToString();
  EXPECT_NE(r.status.message().find("does not match its SHA-256"), std::string::npos);
  EXPECT_NE(r.status.message().find("were already written"), std::string::npos);
  EXPECT_TRUE(r.adds_up);
  // Each block is checked before its records are decoded: the damaged record never
  // reaches the cluster (it once did: the whole file was checked only at its end).
  EXPECT_NE(r.status.message().find(", is damaged; none of its records was written"),
            std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(r.bad, 0u) << "a damaged record reached the cluster";
  EXPECT_LT(r.in_cluster, n);
  {
    // The figure it gives is what the cluster holds: counted once every worker stopped.
    const std::string& m = r.status.message();
    size_t at = m.find(" records in all were written to the cluster");
    ASSERT_NE(at, std::string::npos) << m;
    size_t start = m.rfind(' ', at - 1) + 1;
    EXPECT_EQ(std::stoull(m.substr(start, at - start)), r.in_cluster) << m;
  }
  r = restore_fresh(*data, true);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_NE(r.skipped.find(victim.name), std::string::npos) << r.skipped;
  EXPECT_EQ(r.inserted, n - victim.records);
  EXPECT_EQ(r.in_cluster, n - victim.records);
  EXPECT_EQ(r.bad, 0u) << "no damaged record reaches the cluster";
  EXPECT_TRUE(r.adds_up);

  // A changed digest line would restore a record under the wrong key.
  auto digest = copy("digest");
  DamageOneCharacter(dir_ / "digest" / victim.name, "\n+ d ");
  r = restore_fresh(*digest, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(victim.name), std::string::npos) << r.status.ToString();

  // A missing file: refused before anything is written; salvage restores the rest.
  auto missing = copy("missing");
  fs::remove(dir_ / "missing" / victim.name);
  r = restore_fresh(*missing, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(victim.name + " is listed in the manifest but missing"),
            std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(r.in_cluster, 0u) << "nothing written";
  r = restore_fresh(*missing, true);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.in_cluster, n - victim.records);
  EXPECT_NE(r.skipped.find(victim.name), std::string::npos) << r.skipped;

  // A truncated file: refused up front too.
  auto cut = copy("cut");
  fs::resize_file(dir_ / "cut" / victim.name, victim.size - 10);
  r = restore_fresh(*cut, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("the manifest says " + std::to_string(victim.size)),
            std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(r.in_cluster, 0u);
  // Cut to nothing: an empty file, not a missing one.
  fs::resize_file(dir_ / "cut" / victim.name, 0);
  r = restore_fresh(*cut, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(victim.name + " is 0 bytes, the manifest says " +
                                    std::to_string(victim.size)),
            std::string::npos)
      << r.status.ToString();

  // A stray file the manifest does not list: ignored, said, and named by verify.
  auto stray = copy("stray");
  fs::copy_file(dir_ / "stray" / victim.name, dir_ / "stray" / "9_test_999.asb");
  r = restore_fresh(*stray, false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.inserted, n);
  EXPECT_NE(r.warnings.find("ignoring 9_test_999.asb"), std::string::npos) << r.warnings;
  auto v = backup::Verify({{stray.get(), ""}});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->complete());
  EXPECT_NE(v->Format().find("9_test_999.asb is not listed in the manifest"), std::string::npos)
      << v->Format();

  // A stray .asb in a folder inside the backup: no manifest lists it, so it is never
  // restored (it once was, as a "foreign" backup), and verify names it.
  auto nested = copy("nested");
  fs::create_directories(dir_ / "nested" / "sub");
  fs::copy_file(dir_ / "nested" / victim.name, dir_ / "nested" / "sub" / "0_test_0.asb");
  r = restore_fresh(*nested, false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.inserted, n);
  EXPECT_NE(r.warnings.find("sub: ignoring 1 .asb files inside the abs backup"), std::string::npos)
      << r.warnings;
  v = backup::Verify({{nested.get(), ""}});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->complete());
  EXPECT_NE(v->Format().find("that its manifest does not list"), std::string::npos) << v->Format();

  // Every count is checked: a manifest or metadata.yaml edited after the backup (a file
  // entry removed, a record count changed) is refused before anything is written, also
  // when the editor strips the seal that ties the two together.
  using OrderedJson = nlohmann::ordered_json;
  auto edit_manifest = [&](const std::string& name, const std::function<void(OrderedJson&)>& f) {
    auto s = copy(name);
    fs::path path = dir_ / name / backupset::kManifestFile;
    std::ifstream in(path);
    OrderedJson j = OrderedJson::parse(in);
    f(j);
    std::ofstream(path) << j.dump(1);
    return s;
  };
  auto edit_metadata = [&](const std::string& name, const std::string& from,
                           const std::string& to) {
    fs::path path = dir_ / name / backupset::kMetadataFile;
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, from.size(), to);
    std::ofstream(path) << text;
  };
  struct CountCase {
    std::string name;
    std::function<void(OrderedJson&)> manifest_edit;
    std::string expect;
  };
  const std::string victim_name = victim.name;
  std::vector<CountCase> cases = {
      {"entry-removed",
       [&](OrderedJson& j) {
         auto& files = j["files"];
         for (size_t i = 0; i < files.size(); ++i)
           if (files[i]["name"] == victim_name) files.erase(i);
       },
       "the manifest does not match its SHA-256 in metadata.yaml"},
      {"entry-removed-unsealed",
       [&](OrderedJson& j) {
         auto& files = j["files"];
         for (size_t i = 0; i < files.size(); ++i)
           if (files[i]["name"] == victim_name) files.erase(i);
         j.erase("metadata-sha256");
       },
       "the manifest's files hold " + std::to_string(n - victim.records) + " records"},
      {"record-count-unsealed",
       [&](OrderedJson& j) {
         j["record-count"] = 12345;
         j.erase("metadata-sha256");
       },
       "metadata.yaml says " + std::to_string(n) + " records, the manifest 12345"},
      {"file-records-unsealed",
       [&](OrderedJson& j) {
         for (auto& f : j["files"])
           if (f["name"] == victim_name) f["records"] = f["records"].get<uint64_t>() + 1;
         j["record-count"] = n + 1;
         j.erase("metadata-sha256");
       },
       "metadata.yaml says " + std::to_string(n) + " records, the manifest " +
           std::to_string(n + 1)},
  };
  for (const auto& cc : cases) {
    SCOPED_TRACE(cc.name);
    auto edited = edit_manifest(cc.name, cc.manifest_edit);
    if (cc.name.ends_with("-unsealed")) {
      // The seal stripped from metadata.yaml too: only the counts can tell.
      std::ifstream in(dir_ / cc.name / backupset::kMetadataFile);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      text = text.substr(0, text.find("abs-manifest-sha256:"));
      std::ofstream(dir_ / cc.name / backupset::kMetadataFile) << text;
    }
    r = restore_fresh(*edited, false);
    ASSERT_FALSE(r.status.ok());
    EXPECT_EQ(r.status.code(), StatusCode::kCorrupt);
    EXPECT_NE(r.status.message().find(cc.expect), std::string::npos) << r.status.ToString();
    EXPECT_EQ(r.in_cluster, 0u) << "nothing written";
    v = backup::Verify({{edited.get(), ""}});
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->complete()) << "verify agrees";
  }
  // metadata.yaml's count changed: the seal says so, and so do the counts.
  auto meta_edit = copy("metadata-count");
  edit_metadata("metadata-count", "record-count: " + std::to_string(n), "record-count: 25000");
  r = restore_fresh(*meta_edit, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("metadata.yaml does not match its SHA-256 in the manifest"),
            std::string::npos)
      << r.status.ToString();
  EXPECT_NE(r.status.message().find("metadata.yaml says 25000 records"), std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(r.in_cluster, 0u);

  // Unfinished: files and the start marker, but no manifest and no metadata.yaml.
  auto unfinished = copy("unfinished");
  fs::remove(dir_ / "unfinished" / backupset::kManifestFile);
  fs::remove(dir_ / "unfinished" / backupset::kMetadataFile);
  r = restore_fresh(*unfinished, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("did not finish"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(r.in_cluster, 0u);
  v = backup::Verify({{unfinished.get(), ""}});
  EXPECT_NE(v->Format().find("did not finish"), std::string::npos) << v->Format();

  // Unfinished with its checkpoint (what a crash leaves): salvage restores exactly the
  // complete files the checkpoint names, each checked against its SHA-256 before any
  // record is written, and lists the rest: the damaged file, the partial one, and the
  // partitions that did not finish with an estimate of their records. (It once restored
  // every file unchecked and said "0 left out".)
  {
    auto crashed = copy("crashed");
    fs::remove(dir_ / "crashed" / backupset::kManifestFile);
    fs::remove(dir_ / "crashed" / backupset::kMetadataFile);
    const backup::BackupFile& damaged = result->files[2];
    ASSERT_GT(damaged.records, 0u);
    backupset::Checkpoint cp;
    cp.ns = "test";
    cp.created_unix_ms = result->created_unix_ms;
    cp.fingerprint = "test";
    cp.partitions = result->partitions;
    for (const auto& f : result->files)
      if (f.name != victim.name) cp.files.push_back(f);
    std::map<uint32_t, uint64_t> per_partition(result->records_per_partition.begin(),
                                               result->records_per_partition.end());
    for (uint32_t pid : result->partitions.Ids()) {
      if (pid < 96) continue;  // not started when the backup stopped
      wire::Digest last{};     // any digest of the partition: where its scan had got to
      last[0] = static_cast<uint8_t>(pid & 0xff);
      last[1] = static_cast<uint8_t>(pid >> 8);
      ASSERT_EQ(wire::PartitionIdOf(last), pid);
      cp.progress.push_back({pid, true, last, per_partition[pid]});
    }
    std::ofstream(dir_ / "crashed" / backupset::kCheckpointFile) << backupset::FormatCheckpoint(cp);
    DamageOneCharacter(dir_ / "crashed" / damaged.name);
    r = restore_fresh(*crashed, false);
    ASSERT_FALSE(r.status.ok());
    EXPECT_NE(r.status.message().find("did not finish"), std::string::npos) << r.status.ToString();
    EXPECT_EQ(r.in_cluster, 0u);
    r = restore_fresh(*crashed, true);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_NE(r.skipped.find(victim.name + " is partial"), std::string::npos) << r.skipped;
    EXPECT_NE(r.skipped.find(damaged.name + ": does not match its recorded SHA-256"),
              std::string::npos)
        << r.skipped;
    const std::string unfinished_note = "96 partitions did not finish (0-96): about ";
    const size_t note = r.skipped.find(unfinished_note);
    ASSERT_NE(note, std::string::npos) << r.skipped;
    EXPECT_NE(r.skipped[note + unfinished_note.size()], '0') << "an estimate from the others";
    EXPECT_EQ(r.in_cluster, n - victim.records - damaged.records);
    EXPECT_EQ(r.bad, 0u) << "no damaged record reaches the cluster";
    EXPECT_TRUE(r.adds_up);
  }

  // Written by asbackup or ABS (no abs files at all): restored, with one warning.
  fs::remove(dir_ / "unfinished" / backupset::kStartFile);
  r = restore_fresh(*unfinished, false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.in_cluster, n);
  EXPECT_NE(r.warnings.find("no abs manifest"), std::string::npos) << r.warnings;
}

}  // namespace
}  // namespace absvc

namespace absvc {
namespace {

// absctl's flags: mistakes are caught before any work, with the flag named.
struct CommandResult {
  int code;
  std::string output;
};

CommandResult RunAbsctl(const std::string& args) {
  std::string cmd = testing::SiblingBinary("absctl") + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// True when absctl printed no restore summary, or one whose counters add up:
// "read N = inserted a + existed b + fresher c + skipped d + expired e + ignored f + failed g".
bool SummaryAddsUp(const std::string& output) {
  size_t at = output.find("restore: read ");
  if (at == std::string::npos) return true;
  unsigned long long read = 0, parts[7] = {};
  int got = std::sscanf(output.c_str() + at,
                        "restore: read %llu = inserted %llu + existed %llu + fresher %llu + "
                        "skipped %llu + expired %llu + ignored %llu + failed %llu",
                        &read, &parts[0], &parts[1], &parts[2], &parts[3], &parts[4], &parts[5],
                        &parts[6]);
  unsigned long long sum = 0;
  for (auto p : parts)
    sum += p;
  return got == 8 && sum == read;
}

TEST(Absctl, BadFlagsGiveClearErrorsAndExitCodes) {
  auto dir = fs::temp_directory_path() / ("abs-cli-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "full");
  std::ofstream(dir / "full" / "x") << "x";
  auto r = RunAbsctl("backup -h 127.0.0.1:1 -n test -d " + (dir / "new").string() +
                     " --partition-list 0-10 --node-list 127.0.0.1:3000");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("mutually exclusive"), std::string::npos) << r.output;
  r = RunAbsctl("backup -h 127.0.0.1:1 -n test -d " + (dir / "full").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("is not empty"), std::string::npos) << r.output;
  r = RunAbsctl("backup -h 127.0.0.1:1 -n test -d " + (dir / "new").string() + " --compress lz4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("lz4"), std::string::npos) << r.output;
  r = RunAbsctl("backup -h 127.0.0.1:1 -n test -d " + (dir / "new").string() +
                " --partition-list 4000-200");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("4000-200"), std::string::npos) << r.output;
  r = RunAbsctl("restore -h 127.0.0.1:1 -d " + (dir / "full").string() + " --unique --replace");
  EXPECT_NE(r.code, 0);
  // Nothing to verify is its own exit code, and the place is named.
  r = RunAbsctl("verify " + (dir / "full").string());
  EXPECT_EQ(r.code, 4) << r.output;
  EXPECT_NE(r.output.find((dir / "full").string() + ": no backup with a manifest"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("nothing to verify"), std::string::npos) << r.output;
  r = RunAbsctl("backup -h nohost:99999 -n test -d " + (dir / "new").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("nohost:99999"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--continue"), std::string::npos) << "nothing was written: " << r.output;
  // Every usage error exits 2, whatever the parser calls it.
  for (const char* usage : {"backup --no-such-flag -n test -d x", "backup -n test -d x -w many",
                            "restore", "backup -n", "", "verify --s3-min-part-size"}) {
    r = RunAbsctl(usage);
    EXPECT_EQ(r.code, 2) << "absctl " << usage << ": " << r.output;
  }
  r = RunAbsctl("bakcup -n test");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'bakcup' is not a command, did you mean 'backup'?"), std::string::npos)
      << r.output;
  r = RunAbsctl("frobnicate");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(r.output.find("did you mean"), std::string::npos) << "nothing near: " << r.output;
  // One version, shown by both binaries.
  r = RunAbsctl("--version");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, std::string("absctl ") + ABS_VERSION + "\n");
  FILE* absd = popen((testing::SiblingBinary("absd") + " --version").c_str(), "r");
  ASSERT_NE(absd, nullptr);
  char line[128] = {};
  ASSERT_NE(std::fgets(line, sizeof line, absd), nullptr);
  pclose(absd);
  EXPECT_EQ(std::string(line), std::string("absd ") + ABS_VERSION + "\n");
  // Help says MiB where sizes are MiB, and which times are accepted.
  r = RunAbsctl("backup --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("rotate files at this many MiB"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("YYYY-MM-DDTHH:MM:SS"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace absvc

namespace absvc {
namespace {

// An absctl backup killed mid-run is an unfinished backup: restore refuses it (also inside
// a directory that holds a finished one too) and salvage restores its complete files.
TEST(Absctl, AKilledBackupIsRefusedAndSalvageRestoresItsCompleteFiles) {
  if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) GTEST_SKIP() << "devcluster only";
  auto tc = testing::TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 20000;
  ASSERT_TRUE(Load(c, "killed", n).ok());
  auto dir = fs::temp_directory_path() / ("abs-killed-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string host = "127.0.0.1:" + std::to_string((*tc)->nodes()[0].port);

  ASSERT_EQ(
      RunAbsctl("backup -h " + host + " -n test -w 2 -d " + (dir / "mixed" / "done").string()).code,
      0);
  // About 4 s of work at 5,000 records/s; killed after 1.5 s, with files written.
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string bin = testing::SiblingBinary("absctl"), out = (dir / "mixed" / "cut").string();
    ::execl(bin.c_str(), bin.c_str(), "backup", "-h", host.c_str(), "-n", "test", "-w", "2", "-F",
            "1", "-L", "5000", "-d", out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  size_t asb_files = 0;
  for (const auto& e : fs::directory_iterator(dir / "mixed" / "cut"))
    asb_files += e.path().extension() == ".asb";
  ASSERT_GT(asb_files, 0u) << "the kill came after some files were complete";

  // A backup that fails before its first file has nothing to continue: absctl does not
  // suggest --continue (it once did after any failure of the backup itself).
  auto refused = RunAbsctl("backup -h " + host + " -n nosuchns -d " + (dir / "refused").string());
  EXPECT_NE(refused.code, 0) << refused.output;
  EXPECT_EQ(refused.output.find("continue with"), std::string::npos) << refused.output;

  ASSERT_TRUE(c.Truncate("test", "").ok());
  auto r = RunAbsctl("restore -h " + host + " -d " + (dir / "mixed" / "cut").string());
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("did not finish"), std::string::npos) << r.output;
  r = RunAbsctl("restore -h " + host + " -d " + (dir / "mixed").string());
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find((dir / "mixed" / "cut").string() + ": the backup did not finish"),
            std::string::npos)
      << r.output;
  uint64_t count = 0, bad = 0;
  ScanAndCheck(c, &count, &bad);
  EXPECT_EQ(count, 0u) << "a refused restore writes nothing";

  r = RunAbsctl("restore --salvage -h " + host + " -d " + (dir / "mixed" / "cut").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("complete files its checkpoint names"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("partitions did not finish"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("0 left out"), std::string::npos) << r.output;
  ScanAndCheck(c, &count, &bad);
  EXPECT_GT(count, 0u);
  EXPECT_LT(count, n);
  EXPECT_EQ(bad, 0u);

  // A finished backup with one character changed: absctl fails, naming the file, and
  // verify agrees.
  fs::path damaged;
  for (const auto& e : fs::directory_iterator(dir / "mixed" / "done")) {
    if (e.path().extension() == ".asb" && e.file_size() > 100000) damaged = e.path();
  }
  ASSERT_FALSE(damaged.empty());
  DamageOneCharacter(damaged);
  ASSERT_TRUE(c.Truncate("test", "").ok());
  r = RunAbsctl("restore -h " + host + " -d " + (dir / "mixed" / "done").string());
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(damaged.filename().string() + ": does not match its SHA-256"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("failed"), std::string::npos) << "the summary still adds up";
  r = RunAbsctl("verify " + (dir / "mixed" / "done").string());
  EXPECT_EQ(r.code, 3) << r.output;

  // Into a namespace the cluster does not have: the namespace is named, and no summary
  // of a restore that never wrote claims otherwise.
  r = RunAbsctl("restore --salvage -n test,nosuch -h " + host + " -d " +
                (dir / "mixed" / "cut").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("namespace not found"), std::string::npos) << r.output;
  EXPECT_TRUE(SummaryAddsUp(r.output)) << r.output;
  fs::remove_all(dir);
}

// absctl on cloud storage: two node-list slices backed up at once into folders of one
// bucket (`bucket_flags` names it, `cloud` reaches it), verified as one complete set (one
// alone is not), and restored from both by URL (`url` + folder).
void AbsctlParallelSlicesOnCloud(const std::string& bucket_flags, const std::string& cloud,
                                 const std::string& url) {
  DevClusterArgs args;
  args.extra = {"--racks", "1,2", "--namespace", "test:rf=1"};
  args.nodes = 2;
  auto tc = testing::TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  const uint64_t n = 6000;
  ASSERT_TRUE(Load(c, "cloud", n).ok());
  const auto& nodes = (*tc)->nodes();
  const std::string host = "127.0.0.1:" + std::to_string(nodes[0].port);
  // Both slices at once, each a separate absctl.
  std::vector<std::string> outputs(2);
  std::vector<std::thread> runs;
  for (int i = 0; i < 2; ++i) {
    runs.emplace_back([&, i] {
      auto r = RunAbsctl("backup -h " + host + " -n test -w 2 -F 1 --node-list " + nodes[i].id +
                         " " + bucket_flags + " -d set/slice-" + std::to_string(i) + cloud);
      outputs[i] = std::to_string(r.code) + ": " + r.output;
    });
  }
  for (auto& t : runs)
    t.join();
  for (const auto& out : outputs)
    ASSERT_EQ(out.rfind("0: ", 0), 0u) << out;
  auto r = RunAbsctl("verify " + bucket_flags + " set/slice-0 set/slice-1" + cloud);
  EXPECT_EQ(r.code, 0) << r.output;
  r = RunAbsctl("verify " + bucket_flags + " set/slice-0" + cloud);
  EXPECT_EQ(r.code, 3) << "one slice alone is not the whole namespace: " << r.output;

  ASSERT_TRUE(c.Truncate("test", "").ok());
  r = RunAbsctl("restore -h " + host + " -d " + url + "/set/slice-0," + url + "/set/slice-1" +
                cloud);
  ASSERT_EQ(r.code, 0) << r.output;
  uint64_t count = 0, bad = 0;
  ScanAndCheck(c, &count, &bad);
  EXPECT_EQ(count, n);
  EXPECT_EQ(bad, 0u);
}

// The crash campaign at a size CI affords (ABS_CAMPAIGN_RECORDS, ABS_CAMPAIGN_KILLS for
// more): absctl backs up a 3-node cluster and is killed with SIGKILL at random moments,
// each time continued with --continue, until a run finishes. The result verifies as
// complete and holds every record exactly once: the files' record counts add up to the
// namespace, and a restore gives back each record, checked against its generator.
TEST(Absctl, KilledAtRandomMomentsABackupContinuesToAWholeOne) {
  if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) GTEST_SKIP() << "devcluster only";
  auto env_or = [](const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v ? std::strtoull(v, nullptr, 10) : fallback;
  };
  const uint64_t n = env_or("ABS_CAMPAIGN_RECORDS", 40000);
  const uint64_t kills = env_or("ABS_CAMPAIGN_KILLS", 20);
  DevClusterArgs args;
  args.nodes = 3;
  auto tc = testing::TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto client = client::Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  auto& c = **client;
  ASSERT_TRUE(Load(c, "campaign", n).ok());
  auto dir = fs::temp_directory_path() / ("abs-campaign-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string host = "127.0.0.1:" + std::to_string((*tc)->nodes()[0].port);
  const std::string out = (dir / "backup").string();
  // About ten seconds of scanning in all, so that every kill lands mid-backup.
  const std::string rate = std::to_string(std::max<uint64_t>(1000, n / 10));
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  uint64_t runs = 0, killed = 0, continued = 0, started_over = 0;
  bool finished = false;
  for (uint64_t i = 0; i <= kills && !finished; ++i) {
    const bool last = i == kills;  // the last run is left to finish
    const std::string log = (dir / ("run-" + std::to_string(i) + ".log")).string();
    continued += fs::exists(dir / "backup" / backupset::kCheckpointFile);
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::string bin = testing::SiblingBinary("absctl");
      // Every other run shares 2 files among its 4 workers (parallel-write): a kill then
      // falls between files several workers write, and runs switch between the modes.
      ::execl(bin.c_str(), bin.c_str(), "backup", "-h", host.c_str(), "-n", "test", "-w", "4", "-F",
              "1", "-L", rate.c_str(), "--parallel-write", i % 2 ? "2" : "0",
              i == 0 ? "-d" : "--continue", out.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(pid, 0);
    ++runs;
    int wstatus = 0;
    if (!last) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 700)(rng)));
      if (::waitpid(pid, &wstatus, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ++killed;
      }
    }
    ::waitpid(pid, &wstatus, 0);
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    started_over += text.find("starting it over") != std::string::npos ||
                    text.find("nothing to continue") != std::string::npos;
    if (WIFEXITED(wstatus)) {
      ASSERT_EQ(WEXITSTATUS(wstatus), 0) << "run " << i << ": " << text;
      finished = true;
    }
  }
  ASSERT_TRUE(finished);
  std::printf(
      "campaign: %llu records, %llu runs, %llu killed, %llu continued from a checkpoint, "
      "%llu started from the beginning (killed before their first file)\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(killed), static_cast<unsigned long long>(continued),
      static_cast<unsigned long long>(started_over));
  EXPECT_GE(killed, kills / 2) << "most runs were cut short";
  EXPECT_GE(continued, killed / 2) << "most runs continued from a checkpoint";

  auto r = RunAbsctl("verify " + out);
  EXPECT_EQ(r.code, 0) << r.output;
  size_t cut_short = 0;
  for (const auto& e : fs::directory_iterator(dir / "backup"))
    cut_short += e.path().filename().string().find(".abs-partial-") != std::string::npos;
  EXPECT_EQ(cut_short, 0u) << "the files killed mid-write were removed on resume";
  auto manifest = backupset::ParseManifestJson([&] {
    std::ifstream in(dir / "backup" / backupset::kManifestFile);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }());
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  uint64_t in_files = 0;
  for (const auto& f : manifest->files)
    in_files += f.records;
  EXPECT_EQ(in_files, n) << "records doubled: " << (in_files > n ? in_files - n : 0)
                         << ", lost: " << (in_files < n ? n - in_files : 0);
  EXPECT_EQ(manifest->record_count, n);

  ASSERT_TRUE(c.Truncate("test", "").ok());
  r = RunAbsctl("restore -h " + host + " -d " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  uint64_t count = 0, bad = 0;
  ScanAndCheck(c, &count, &bad);
  EXPECT_EQ(count, n);
  EXPECT_EQ(bad, 0u);
  fs::remove_all(dir);
}

fs::path EmulatorDir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("abs-cli-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// S3 (s3rver, signatures checked by AWS's signer).
TEST(Absctl, ParallelSlicesOnS3BackUpVerifyAndRestore) {
  if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) GTEST_SKIP() << "devcluster only";
  auto dir = EmulatorDir("s3");
  auto s3 = testing::Emulator::Start("s3.js", {dir.string(), "abs-test"});
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  // The keys come from where the flags say they are, never the command line.
  std::ofstream(dir / "secret") << "S3RVER\n";
  testing::ScopedEnv env;
  env.Set("ABS_TEST_S3_KEY_ID", "S3RVER");
  AbsctlParallelSlicesOnCloud("--s3-bucket-name abs-test",
                              " --s3-endpoint-override " + (*s3)->endpoint() +
                                  " --s3-region us-east-1 --s3-access-key-id "
                                  "env:ABS_TEST_S3_KEY_ID --s3-secret-access-key file:" +
                                  (dir / "secret").string(),
                              "s3://abs-test");
  auto r =
      RunAbsctl("verify --s3-bucket-name abs-test --s3-endpoint-override " + (*s3)->endpoint() +
                " --s3-region us-east-1 --s3-access-key-id env:ABS_TEST_S3_KEY_ID "
                "--s3-secret-access-key file:" +
                (dir / "no-such-file").string() + " set/slice-0");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("cannot read --s3-secret-access-key file " +
                          (dir / "no-such-file").string() + ": No such file"),
            std::string::npos)
      << r.output;
  fs::remove_all(dir);
}

// GCS (the project's test server, OAuth with the key file it wrote).
TEST(Absctl, ParallelSlicesOnGcsBackUpVerifyAndRestore) {
  if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) GTEST_SKIP() << "devcluster only";
  auto dir = EmulatorDir("gcs");
  auto gcs = testing::Emulator::Start("gcs.js", {(dir / "key.json").string(), "abs-test"});
  ASSERT_TRUE(gcs.ok()) << gcs.status().ToString();
  AbsctlParallelSlicesOnCloud("--gcp-bucket-name abs-test",
                              " --gcp-endpoint-override " + (*gcs)->endpoint() +
                                  " --gcp-key-path " + (dir / "key.json").string(),
                              "gs://abs-test");
  fs::remove_all(dir);
}

// Azure (azurite, Shared Key).
TEST(Absctl, ParallelSlicesOnAzureBackUpVerifyAndRestore) {
  if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) GTEST_SKIP() << "devcluster only";
  auto dir = EmulatorDir("azure");
  auto az = testing::Emulator::Start("azure.js", {dir.string(), "abs-test"});
  ASSERT_TRUE(az.ok()) << az.status().ToString();
  AbsctlParallelSlicesOnCloud(
      "--azure-container-name abs-test",
      " --azure-endpoint " + (*az)->endpoint() +
          "/devstoreaccount1 --azure-account-name devstoreaccount1 --azure-account-key "
          "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==",
      "az://abs-test");
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace absvc
