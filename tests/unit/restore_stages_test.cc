// The restore's transform and sink stages, without a cluster: what a backed-up record
// becomes, and how the answers to its write are counted.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/cltime.h"
#include "restore/record_sink.h"
#include "restore/record_transform.h"
#include "restore/restore_job.h"
#include "restore/restore_plan.h"
#include "storage/memory/memory_storage.h"
#include "wire/message.h"
#include "wire/result_code.h"

namespace absvc::restore {
namespace {

constexpr int64_t kNowCitrusleaf = 500'000'000;

asb::DecodedRecord Record(std::string set, std::vector<std::string> bin_names) {
  asb::DecodedRecord r;
  r.ns = "src";
  r.set = std::move(set);
  r.digest[0] = 7;
  r.generation = 9;
  for (auto& name : bin_names)
    r.bins.push_back({std::move(name), 1, std::string(8, '\1')});
  r.bin_count = r.bins.size();
  return r;
}

class RecordTransformTest : public ::testing::Test {
 protected:
  RecordTransformTest() {
    clock_.SetUnixMillis((kCitrusleafEpochUnixSeconds + kNowCitrusleaf) * 1000);
  }
  FakeClock clock_;
};

TEST_F(RecordTransformTest, SetsAndBinsOutsideTheListsAreFilteredOut) {
  RecordTransformOptions o;
  o.sets = {"keep"};
  o.bins = {"a", "c"};
  RecordTransform t(o, clock_);
  RecordWrite w;
  EXPECT_EQ(t.Apply(Record("other", {"a"}), &w), TransformVerdict::kFiltered);
  EXPECT_EQ(t.Apply(Record("keep", {"b"}), &w), TransformVerdict::kFiltered) << "no bin left";
  // The write's views point into the record, which must outlive them.
  const auto kept = Record("keep", {"a", "b", "c"});
  ASSERT_EQ(t.Apply(kept, &w), TransformVerdict::kWrite);
  ASSERT_EQ(w.bins.size(), 2u);
  EXPECT_EQ(w.bins[0].name, "a");
  EXPECT_EQ(w.bins[1].name, "c");
  EXPECT_EQ(w.set, "keep");
}

TEST_F(RecordTransformTest, TheNamespaceIsRemappedForRecordsAndDefinitions) {
  RecordTransformOptions o;
  o.namespace_source = "src";
  o.namespace_destination = "dst";
  RecordTransform t(o, clock_);
  RecordWrite w;
  auto r = Record("", {"a"});
  ASSERT_EQ(t.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ns, "dst");
  EXPECT_EQ(t.TargetNamespace("other"), "other");
  r.ns = "other";
  ASSERT_EQ(t.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ns, "other");
}

TEST_F(RecordTransformTest, TheTtlIsWhatIsLeftFromNowPlusExtraTtl) {
  RecordTransformOptions o;
  RecordTransform t(o, clock_);
  RecordWrite w;
  auto r = Record("", {"a"});
  ASSERT_EQ(t.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ttl, client::kTtlNeverExpire) << "void time 0 never expires";
  r.void_time = kNowCitrusleaf + 100;
  ASSERT_EQ(t.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ttl, 100u);
  clock_.Advance(std::chrono::seconds(100));
  EXPECT_EQ(t.Apply(r, &w), TransformVerdict::kExpired);
  o.extra_ttl = 50;
  RecordTransform extended(o, clock_);
  ASSERT_EQ(extended.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ttl, 50u);
  // A TTL the wire would read as "never expire" or "do not change" is capped below them.
  o.extra_ttl = 0xFFFFFFFF;
  RecordTransform huge(o, clock_);
  ASSERT_EQ(huge.Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.ttl, client::kTtlDontUpdate - 1);
}

TEST_F(RecordTransformTest, ThePolicyDecidesTheWriteBits) {
  auto r = Record("", {"a"});
  RecordWrite w;
  RecordTransformOptions o;
  ASSERT_EQ(RecordTransform(o, clock_).Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.exists, client::RecordExistsAction::kUpdate);
  EXPECT_EQ(w.generation_policy, client::GenerationPolicy::kExpectGreater);
  EXPECT_EQ(w.generation, 9);
  o.policy.replace = true;
  o.policy.no_generation = true;
  ASSERT_EQ(RecordTransform(o, clock_).Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.exists, client::RecordExistsAction::kReplace);
  EXPECT_EQ(w.generation_policy, client::GenerationPolicy::kNone);
  o.policy = {};
  o.policy.unique = true;
  ASSERT_EQ(RecordTransform(o, clock_).Apply(r, &w), TransformVerdict::kWrite);
  EXPECT_EQ(w.exists, client::RecordExistsAction::kCreateOnly);
  EXPECT_EQ(w.generation_policy, client::GenerationPolicy::kNone);
}

// A sink whose "cluster" answers each row with the next scripted result code.
class ScriptedSink : public RecordSink {
 public:
  ScriptedSink(size_t batch_size, RestoreCounters& counters, size_t max_batch_bytes = 1 << 30)
      : RecordSink(batch_size, max_batch_bytes, counters) {}
  std::vector<int> answers;  // one per row, in order; rows past the end get no answer
  Status transport;          // returned by every send
  std::vector<client::BatchWriteRecord> sent;

 protected:
  Status Send(std::span<client::BatchWriteRecord> rows) override {
    for (auto& row : rows) {
      if (next_ < answers.size()) row.result = answers[next_++];
      sent.push_back(row);
    }
    return transport;
  }

 private:
  size_t next_ = 0;
};

RecordWrite Write(const asb::DecodedRecord& r, std::string_view user_key = {}) {
  RecordWrite w;
  w.ns = r.ns;
  w.set = r.set;
  w.digest = &r.digest;
  w.user_key = user_key;
  w.ttl = 77;
  w.generation = 3;
  w.generation_policy = client::GenerationPolicy::kExpectGreater;
  for (size_t i = 0; i < r.bin_count; ++i)
    w.bins.push_back({r.bins[i].name, r.bins[i].particle_type, r.bins[i].value});
  return w;
}

TEST(RecordSink, EachRowIsEncodedOnceWithItsKeyAndBins) {
  RestoreCounters counters;
  ScriptedSink sink(2, counters);
  sink.answers = {wire::result::kOk, wire::result::kOk};
  auto r = Record("s", {"x", "y"});
  const std::string key = std::string(1, '\3') + "user";
  ASSERT_TRUE(sink.Add(Write(r, key)).ok());
  EXPECT_TRUE(sink.sent.empty()) << "waits for a full batch";
  ASSERT_TRUE(sink.Add(Write(r)).ok());
  ASSERT_EQ(sink.sent.size(), 2u);
  const auto& first = sink.sent[0];
  EXPECT_EQ(first.key.ns, "src");
  EXPECT_EQ(first.key.set, "s");
  EXPECT_EQ(first.key.digest[0], 7);
  EXPECT_TRUE(first.send_key);
  EXPECT_EQ(first.key.KeyField(), key);
  EXPECT_EQ(first.ttl, 77u);
  EXPECT_EQ(first.generation, 3);
  EXPECT_EQ(first.n_ops, 2);
  std::string expected_ops;
  wire::AppendOp(expected_ops, wire::OpType::kWrite, 1, "x", std::string(8, '\1'));
  wire::AppendOp(expected_ops, wire::OpType::kWrite, 1, "y", std::string(8, '\1'));
  EXPECT_EQ(first.ops, expected_ops);
  EXPECT_FALSE(sink.sent[1].send_key) << "a record without a stored key sends none";
  EXPECT_EQ(counters.inserted.load(), 2u);
  EXPECT_EQ(sink.inserted(), 2u);
}

// A batch is written at its byte bound before its record count: 100,000 records of a
// batch never sit in memory when they are large.
TEST(RecordSink, ABatchIsWrittenOnceItHoldsItsBytesWhateverItsRecordCount) {
  RestoreCounters counters;
  ScriptedSink sink(100000, counters, 64 << 10);
  sink.answers.assign(1000, wire::result::kOk);
  asb::DecodedRecord big = Record("s", {"a"});
  big.bins[0].value = std::string(10 << 10, 'x');  // 10 KiB a record
  size_t before = 0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(sink.Add(Write(big)).ok());
    if (sink.sent.size() > before) {
      EXPECT_EQ(sink.sent.size() - before, 7u) << "64 KiB of 10 KiB records: 7 a batch";
      before = sink.sent.size();
    }
  }
  EXPECT_EQ(sink.sent.size(), 14u);
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_EQ(counters.inserted.load(), 20u);
}

TEST(PlanRestoreMemory, WorkersAndBatchesFitHalfTheBudget) {
  constexpr uint64_t MiB = 1 << 20;
  // Defaults on a cloud storage (8 MiB reads): 8 workers fit, with batches of MiBs.
  auto cloud = PlanRestoreMemory(8, 8 * MiB, 256 * MiB);
  EXPECT_EQ(cloud.workers, 8u);
  EXPECT_GE(cloud.max_batch_bytes, 1 * MiB);
  EXPECT_LE(cloud.workers * cloud.per_worker_bytes, 128 * MiB);
  // parallel 1,000 (the case that peaked at 1.4 GB): cut to what fits.
  auto many = PlanRestoreMemory(1000, 8 * MiB, 256 * MiB);
  EXPECT_LT(many.workers, 20u);
  EXPECT_GE(many.workers, 8u);
  EXPECT_LE(many.workers * many.per_worker_bytes, 128 * MiB);
  // Local disk: more workers fit, each with a batch bound.
  auto local = PlanRestoreMemory(1000, 64 << 10, 256 * MiB);
  EXPECT_GT(local.workers, 50u);
  EXPECT_LE(local.workers * local.per_worker_bytes, 128 * MiB);
  // A budget too small for even one worker still runs one.
  auto tiny = PlanRestoreMemory(4, 8 * MiB, 1 * MiB);
  EXPECT_EQ(tiny.workers, 1u);
  EXPECT_GT(tiny.max_batch_bytes, 0u);
}

TEST(RecordSink, EveryAnswerLandsInExactlyOneCounter) {
  RestoreCounters counters;
  ScriptedSink sink(8, counters);
  namespace rc = wire::result;
  sink.answers = {rc::kOk, rc::kGenerationError, rc::kKeyExists, rc::kRecordTooBig, rc::kOk};
  auto r = Record("", {"a"});
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(sink.Add(Write(r)).ok());
  Status st = sink.Flush();
  EXPECT_EQ(st.server_code(), rc::kRecordTooBig);
  EXPECT_NE(st.message().find("record too big"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("to src failed"), std::string::npos) << "names the namespace";
  EXPECT_EQ(counters.inserted.load(), 2u);
  EXPECT_EQ(counters.fresher.load(), 1u);
  EXPECT_EQ(counters.existed.load(), 1u);
  EXPECT_EQ(counters.failed.load(), 1u);
}

TEST(RecordSink, RowsWithoutAnAnswerAndAbandonedRowsAreFailed) {
  RestoreCounters counters;
  ScriptedSink sink(8, counters);
  sink.answers = {wire::result::kOk};
  sink.transport = Status::Network("node 1 went away");
  auto r = Record("", {"a"});
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(sink.Add(Write(r)).ok());
  Status st = sink.Flush();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_EQ(counters.inserted.load(), 1u);
  EXPECT_EQ(counters.failed.load(), 2u);
  ASSERT_TRUE(sink.Add(Write(r)).ok());
  sink.Abandon();
  EXPECT_EQ(counters.failed.load(), 3u);
  EXPECT_TRUE(sink.Flush().ok()) << "nothing waits after Abandon";
}

// An incremental that found nothing, as ABS writes it (metadata.yaml alone, record-count
// 0), is a backup with no files to restore; a metadata.yaml that counts records with no
// files beside it is no backup.
TEST(PlanRestore, AnEmptyBackupWithOnlyItsMetadataRestoresNothing) {
  auto storage = storage::OpenMemoryStorage("plan-empty").value();
  ASSERT_TRUE(storage
                  ->PutAtomic("r1/incremental/1700000000000/data/test/metadata.yaml",
                              "namespace: test\nrecord-count: 0\nfile-count: 0\n")
                  .ok());
  auto plan = PlanRestore(*storage, {"r1/incremental/1700000000000/data/test"}, false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->files.empty());
  ASSERT_TRUE(storage
                  ->PutAtomic("r1/incremental/1700000000001/data/test/metadata.yaml",
                              "namespace: test\nrecord-count: 5\n")
                  .ok());
  plan = PlanRestore(*storage, {"r1/incremental/1700000000001/data/test"}, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace absvc::restore
