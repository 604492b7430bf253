// The dashboard's coverage of backup sets: verify's union of manifests, per set of runs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "backupset/metadata.h"
#include "backupset/partition_set.h"
#include "common/cltime.h"
#include "service/coverage.h"
#include "service/ownership.h"
#include "storage/memory/memory_storage.h"

namespace absvc::service {
namespace {

using backupset::PartitionSet;

class CoverageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = std::move(storage::OpenMemoryStorage(
                             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                   .value();
  }

  // A finished namespace backup of `partitions` in run <routine>/backup/<ts>, claimed by
  // `owner` (this process unless given).
  void Finished(int64_t ts, const std::string& partitions, const std::string& ns = "test",
                const std::string& routine = "daily") {
    std::string run = routine + "/backup/" + std::to_string(ts);
    std::string dir = run + "/data/" + ns;
    backupset::BackupResult r;
    r.ns = ns;
    r.partitions = *PartitionSet::ParseList(partitions);
    r.slice = "partition-list:" + partitions;
    r.record_count = r.partitions.Count();
    r.created_unix_ms = ts;
    r.finished_unix_ms = ts + 1000;
    std::string data = "records of " + partitions;
    ASSERT_TRUE(storage_->PutAtomic(dir + "/test_0.asb", data).ok());
    r.files.push_back({"test_0.asb", data.size(), std::string(64, '0'), r.record_count});
    ASSERT_TRUE(storage_->PutAtomic(dir + "/abs-manifest.json", FormatManifestJson(r)).ok());
    ASSERT_TRUE(storage_->PutAtomic(dir + "/metadata.yaml", FormatMetadataYaml(r)).ok());
    Claim(run, Owner::Self().ToJson(), r.slice);
  }
  // A run that has started its namespace but not finished it.
  void Unfinished(int64_t ts, const Json& owner, int64_t heartbeat_ms = 0) {
    std::string run = "daily/backup/" + std::to_string(ts);
    ASSERT_TRUE(storage_->PutAtomic(run + "/data/test/abs-start.json", "{}").ok());
    ASSERT_TRUE(storage_->PutAtomic(run + "/data/test/test_0.asb", "partial").ok());
    Claim(run, owner, "partition-list:2048-2048", heartbeat_ms);
  }
  void Claim(const std::string& run, const Json& owner, const std::string& slice,
             int64_t heartbeat_ms = 0) {
    Json claim = {{"owner", owner}, {"slice", slice}, {"namespaces", {"test"}}};
    if (heartbeat_ms) claim["heartbeat-ms"] = heartbeat_ms;
    ASSERT_TRUE(storage_->PutAtomic(run + "/abs-run.json", claim.dump()).ok());
  }
  Json Coverage(CoverageQuery q = {}) {
    auto out = RoutineCoverage(*storage_, "daily", q, kNow, 60000);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : Json();
  }

  static constexpr int64_t kNow = 1800000000000;
  std::unique_ptr<storage::Storage> storage_;
};

TEST_F(CoverageTest, ParallelRunsFormOneSetWhoseMapShowsCoveredMissingAndTwice) {
  // Set 1 (three instances, ms apart): complete.
  Finished(1700000000000, "0-1366");
  Finished(1700000000003, "1366-1365");
  Finished(1700000000010, "2731-1365");
  // Set 2, an hour later: the middle instance never ran; the last overlaps the first.
  Finished(1700003600000, "0-1366");
  Finished(1700003600500, "1300-2796");
  // ... and a second namespace with a gap at the end.
  Finished(1700003600500, "0-4000", "other");

  Json out = Coverage();
  ASSERT_EQ(out["sets"].size(), 2u) << out.dump();
  const Json& latest = out["sets"][0];
  const Json& first = out["sets"][1];
  EXPECT_EQ(first["timestamp"], 1700000000000);
  EXPECT_EQ(first["verdict"], "complete");
  EXPECT_EQ(first["runs"].size(), 3u);
  EXPECT_EQ(first["runs"][1]["slice"], "partition-list:1366-1365");
  EXPECT_EQ(first["runs"][1]["state"], "finished");
  EXPECT_EQ(first["namespaces"]["test"]["partitions"], std::string(4096, '1'));
  EXPECT_EQ(first["namespaces"]["test"]["records"], 4096);
  EXPECT_EQ(first["namespaces"]["test"]["backups"], 3);

  // Overlap 1300..1365 (66 partitions) is covered twice; 4096-4096 everything else once.
  EXPECT_EQ(latest["verdict"], "incomplete");  // "other" misses 4000..4095
  const Json& test = latest["namespaces"]["test"];
  EXPECT_EQ(test["covered"], 4096);
  EXPECT_EQ(test["overlapping"], 66);
  EXPECT_EQ(test["overlaps"], "1300-66");
  std::string cells = test["partitions"];
  ASSERT_EQ(cells.size(), 4096u);
  EXPECT_EQ(cells.substr(0, 1300), std::string(1300, '1'));
  EXPECT_EQ(cells.substr(1300, 66), std::string(66, '2'));
  EXPECT_EQ(cells.substr(1366), std::string(4096 - 1366, '1'));
  const Json& other = latest["namespaces"]["other"];
  EXPECT_EQ(other["missing"], 96);
  EXPECT_EQ(other["gaps"], "4000-96");
  EXPECT_EQ(std::string(other["partitions"]).substr(4000), std::string(96, '0'));

  // The window decides what is one set; from/to and limit pick sets by their first run.
  EXPECT_EQ(Coverage({.window_ms = 5})["sets"].size(), 4u);
  EXPECT_EQ(Coverage({.window_ms = 10})["sets"].size(), 3u);
  EXPECT_EQ(Coverage({.window_ms = 7200000})["sets"].size(), 1u);
  EXPECT_EQ(Coverage({.window_ms = 7200000})["sets"][0]["verdict"], "incomplete");
  Json only_first = Coverage({.to_ms = 1700000000005});
  ASSERT_EQ(only_first["sets"].size(), 1u);
  EXPECT_EQ(only_first["sets"][0]["timestamp"], 1700000000000);
  EXPECT_EQ(Coverage({.from_ms = 1700000000001})["sets"].size(), 1u);
  Json newest = Coverage({.limit = 1});
  ASSERT_EQ(newest["sets"].size(), 1u);
  EXPECT_EQ(newest["sets"][0]["timestamp"], 1700003600000);
}

TEST_F(CoverageTest, UnfinishedRunsAreRunningUntilTheirOwnerIsGone) {
  Finished(1700000000000, "0-2048");
  // This process is alive: its unfinished run is running, and so is the set.
  Unfinished(1700000000002, Owner::Self().ToJson());
  Json out = Coverage();
  ASSERT_EQ(out["sets"].size(), 1u);
  EXPECT_EQ(out["sets"][0]["verdict"], "in-progress");
  EXPECT_TRUE(out["sets"][0]["in-progress"]);
  EXPECT_EQ(out["sets"][0]["runs"][1]["state"], "running");
  EXPECT_EQ(out["sets"][0]["namespaces"]["test"]["covered"], 2048);
  // Its slice is drawn as being read, and its missing manifest is no problem yet.
  EXPECT_EQ(out["sets"][0]["namespaces"]["test"]["reading"], 2048);
  EXPECT_EQ(out["sets"][0]["namespaces"]["test"]["partitions"],
            std::string(2048, '1') + std::string(2048, 'r'));
  EXPECT_TRUE(out["sets"][0]["problems"].empty()) << out.dump();

  // An instance on another machine whose heartbeat is older than the lease: abandoned,
  // and the set is what verify says of it.
  ASSERT_TRUE(storage_->Remove("daily/backup/1700000000002/").ok());
  Unfinished(1700000000002, {{"host", "elsewhere"}, {"pid", 42}}, kNow - 120000);
  out = Coverage();
  EXPECT_EQ(out["sets"][0]["runs"][1]["state"], "abandoned");
  EXPECT_EQ(out["sets"][0]["verdict"], "incomplete");
  EXPECT_FALSE(out["sets"][0]["in-progress"]);
  EXPECT_EQ(out["sets"][0]["namespaces"]["test"]["partitions"],
            std::string(2048, '1') + std::string(2048, '0'));
  ASSERT_FALSE(out["sets"][0]["problems"].empty());
  EXPECT_NE(out["sets"][0]["problems"][0].get<std::string>().find("did not finish"),
            std::string::npos);
  // Its heartbeat recent: still running there.
  ASSERT_TRUE(storage_->Remove("daily/backup/1700000000002/").ok());
  Unfinished(1700000000002, {{"host", "elsewhere"}, {"pid", 42}}, kNow - 1000);
  EXPECT_EQ(Coverage()["sets"][0]["runs"][1]["state"], "running");
}

TEST_F(CoverageTest, DamagedAndForeignRunsAreNamedNotCounted) {
  Finished(1700000000000, "0-2048");
  Finished(1700000000001, "2048-2048");
  // A file cut short: the set is incomplete, naming the file, though the map is whole.
  ASSERT_TRUE(storage_->PutAtomic("daily/backup/1700000000001/data/test/test_0.asb", "short").ok());
  // A run ABS wrote (metadata, no manifest, no claim) counts nothing and says so.
  ASSERT_TRUE(
      storage_->PutAtomic("daily/backup/1700000000002/data/test/metadata.yaml", "namespace: test\n")
          .ok());
  Json out = Coverage();
  ASSERT_EQ(out["sets"].size(), 1u);
  const Json& set = out["sets"][0];
  EXPECT_EQ(set["verdict"], "incomplete");
  EXPECT_EQ(set["runs"][2]["state"], "no-manifest");
  ASSERT_EQ(set["problems"].size(), 2u) << set.dump();
  EXPECT_NE(set["problems"][0].get<std::string>().find("test_0.asb is 5 bytes"), std::string::npos);
  EXPECT_NE(set["problems"][1].get<std::string>().find("1700000000002: no backup with a manifest"),
            std::string::npos);
  // Nothing at all, or a routine never run: no sets, not an error.
  auto none = RoutineCoverage(*storage_, "weekly", {}, kNow, 60000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)["sets"].empty());
}

TEST_F(CoverageTest, ClaimsWithFieldsOfTheWrongTypeReadAsAbsent) {
  // Claims are files in a shared bucket: any writer may leave any JSON there. The fuzzer
  // found a number where the slice belongs; it is no slice, not an exception.
  Unfinished(1700000000000, Owner::Self().ToJson());
  ASSERT_TRUE(storage_
                  ->PutAtomic("daily/backup/1700000000000/abs-run.json",
                              R"({"slice": 9.0, "namespaces": "test", "owner": [1],
                                  "heartbeat-ms": "soon"})")
                  .ok());
  Json out = Coverage();
  ASSERT_EQ(out["sets"].size(), 1u) << out.dump();
  const Json& run = out["sets"][0]["runs"][0];
  EXPECT_EQ(run["slice"], "");
  // An owner that is not an object names no process: the run is abandoned.
  EXPECT_EQ(run["state"], "abandoned");
}

// A killed absd not yet reaped by its parent is a zombie: kill(pid, 0) still succeeds and
// its start time still matches, but it will never renew anything. Its runs are gone, so
// the next start resumes them instead of waiting on a process that cannot come back.
TEST(Ownership, AZombieOwnerIsGoneAndALiveOneIsNot) {
  int ready[2], hold[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(hold), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(hold[1]);  // so that the parent closing its end is an end of file here
    char c = 0;
    (void)::write(ready[1], &c, 1);
    (void)::read(hold[0], &c, 1);  // until the parent closes its end
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  Json owner = Owner::Self().ToJson();
  owner["pid"] = child;
  {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 22; ++i)
      fields >> field;
    owner["start-ticks"] = std::stoull(field);
  }
  const int64_t now = UnixNowMillis();
  Json record = {{"owner", owner}, {"heartbeat-ms", now}};
  EXPECT_FALSE(OwnerIsGone(record, now, 60000)) << "a live owner";
  ::close(hold[1]);
  // Not reaped: wait until the kernel shows it as a zombie.
  bool zombie = false;
  for (int i = 0; i < 5000 && !zombie; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    zombie = text.size() > text.rfind(')') + 2 && text[text.rfind(')') + 2] == 'Z';
    if (!zombie) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(zombie);
  EXPECT_EQ(::kill(child, 0), 0) << "a zombie still answers kill(pid, 0)";
  EXPECT_TRUE(OwnerIsGone(record, now, 60000)) << "a zombie owner";
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(OwnerIsGone(record, now, 60000)) << "a reaped owner";
  ::close(ready[0]);
  ::close(ready[1]);
  ::close(hold[0]);
}

}  // namespace
}  // namespace absvc::service
