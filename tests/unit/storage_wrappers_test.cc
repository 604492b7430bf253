// The storage wrappers on a memory backend and a fake clock: retries with backoff and
// their limits, a download that resumes where it broke, metrics, and injected faults.
#include <gtest/gtest.h>

#include <vector>

#include "storage/memory/memory_storage.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

using std::chrono::milliseconds;

std::shared_ptr<Storage> Memory(const std::string& name) {
  // Names are per test, so each starts empty.
  auto s = OpenMemoryStorage(name);
  EXPECT_TRUE(s.ok());
  return std::shared_ptr<Storage>(std::move(s).value());
}

RetrySpec FiveAttempts() {
  RetrySpec r;
  r.max_attempts = 5;
  r.initial_backoff_ms = 1000;
  r.multiplier = 2.0;
  r.max_backoff_ms = 5000;
  return r;
}

TEST(RetryTransient, BacksOffExponentiallyUpToTheCapThenGivesUpNamingTheAttempts) {
  FakeClock clock;
  int calls = 0;
  Status st = RetryTransient(FiveAttempts(), clock, "write s3://b/x", [&] {
    ++calls;
    return Status::Unavailable("503 Slow Down");
  });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("write s3://b/x: gave up after 5 attempts"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("503 Slow Down"), std::string::npos);
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                       milliseconds(4000), milliseconds(5000)}));
}

TEST(RetryTransient, StopsAtOnceOnAPermanentErrorAndOnSuccess) {
  FakeClock clock;
  int calls = 0;
  Status st = RetryTransient(FiveAttempts(), clock, "read", [&] {
    return ++calls == 1 ? Status::Io("403 Forbidden") : Status::Ok();
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.code(), StatusCode::kIo);
  EXPECT_TRUE(clock.sleeps().empty());
  calls = 0;
  st = RetryTransient(FiveAttempts(), clock, "read", [&] {
    return ++calls < 3 ? Status::Network("connection reset") : Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
}

TEST(Wrappers, ARetriedStorageRidesOutFaultsOnEveryCall) {
  FakeClock clock;
  auto memory = Memory("wrappers-retry");
  auto plan = std::make_shared<FaultPlan>();
  for (auto op : {StorageStats::kList, StorageStats::kOpenReader, StorageStats::kOpenWriter,
                  StorageStats::kRemove, StorageStats::kCreate, StorageStats::kExists}) {
    plan->Add({op, 1});  // the first call of each fails with a 503
  }
  auto storage = WithRetries(WithFaults(memory, plan, clock), FiveAttempts(), clock);
  ASSERT_TRUE(storage->PutAtomic("a/x", "hello").ok());
  EXPECT_TRUE(*storage->Exists("a/x"));
  EXPECT_EQ(storage->List("a")->size(), 1u);
  EXPECT_EQ(*storage->ReadAll("a/x"), "hello");
  EXPECT_TRUE(*storage->CreateExclusive("a/claim", "me"));
  EXPECT_TRUE(storage->Remove("a/x").ok());
  EXPECT_EQ(clock.sleeps().size(), 6u);
}

TEST(Wrappers, ADownloadBrokenMidwayResumesWhereItStopped) {
  FakeClock clock;
  auto memory = Memory("wrappers-resume");
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>('a' + (i * 7) % 26);
  ASSERT_TRUE(memory->PutAtomic("big.asb", data).ok());
  auto plan = std::make_shared<FaultPlan>();
  plan->Add({StorageStats::kRead, 3, true, Fault::kError, Status::Network("connection reset")});
  auto storage = WithRetries(WithFaults(memory, plan, clock), FiveAttempts(), clock);
  auto reader = storage->OpenReader("big.asb");
  ASSERT_TRUE(reader.ok());
  std::string got;
  char buf[4096];
  while (true) {
    auto n = (*reader)->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, data);
  EXPECT_GT(plan->calls(StorageStats::kOpenReader), 5) << "each reset reopened the object";
}

TEST(Wrappers, ShortReadsAndLatencyAreInjected) {
  FakeClock clock;
  auto memory = Memory("wrappers-faults");
  ASSERT_TRUE(memory->PutAtomic("f", "0123456789").ok());
  auto plan = std::make_shared<FaultPlan>();
  plan->Add({StorageStats::kRead, 1, false, Fault::kShortRead, {}, milliseconds(0), 3});
  plan->Add({StorageStats::kOpenReader, 1, false, Fault::kLatency, {}, milliseconds(250)});
  auto storage = WithFaults(memory, plan, clock);
  auto reader = storage->OpenReader("f");
  ASSERT_TRUE(reader.ok());
  char buf[10];
  EXPECT_EQ(*(*reader)->Read(buf, sizeof buf), 3u);
  EXPECT_EQ(*(*reader)->Read(buf, sizeof buf), 7u);
  EXPECT_EQ(clock.sleeps(), std::vector<milliseconds>{milliseconds(250)});
}

TEST(Wrappers, AFaultFromThenOnFiresOnEveryLaterCall) {
  FaultPlan plan;
  Fault full;
  full.op = StorageStats::kWrite;
  full.nth = 3;
  full.from_then_on = true;
  plan.Add(full);
  std::vector<bool> fired;
  for (int i = 0; i < 6; ++i)
    fired.push_back(plan.Next(StorageStats::kWrite).has_value());
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, true, true, true}));
  EXPECT_FALSE(plan.Next(StorageStats::kRead).has_value()) << "other operations are untouched";
}

TEST(Wrappers, MetricsCountRequestsErrorsAndBytes) {
  FakeClock clock;
  auto memory = Memory("wrappers-metrics");
  auto stats = std::make_shared<StorageStats>();
  auto plan = std::make_shared<FaultPlan>();
  plan->Add({StorageStats::kExists, 1});
  auto storage = WithMetrics(WithFaults(memory, plan, clock), stats);
  ASSERT_TRUE(storage->PutAtomic("m", std::string(1234, 'm')).ok());
  EXPECT_EQ(storage->ReadAll("m")->size(), 1234u);
  EXPECT_FALSE(storage->Exists("m").ok());
  EXPECT_TRUE(*storage->Exists("m"));
  EXPECT_EQ(stats->bytes_written.load(), 1234u);
  EXPECT_EQ(stats->bytes_read.load(), 1234u);
  EXPECT_EQ(stats->requests[StorageStats::kExists].load(), 2u);
  EXPECT_EQ(stats->errors[StorageStats::kExists].load(), 1u);
  EXPECT_EQ(stats->errors[StorageStats::kWrite].load(), 0u);
}

TEST(Wrappers, BandwidthLimitPassesBytesUnchanged) {
  auto memory = Memory("wrappers-bandwidth");
  auto storage = WithBandwidth(memory, 64 << 20);
  std::string data(300000, 'b');
  auto w = storage->OpenWriter("t");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(data).ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(*storage->ReadAll("t"), data);
}

}  // namespace
}  // namespace absvc::storage
