// The job runner's retries on a fake clock: the waits it makes, when it stops, and that a
// cancel ends the wait at once.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "jobs/retry.h"

namespace absvc::jobs {
namespace {

int64_t SleptMs(const FakeClock& clock) {
  int64_t total = 0;
  for (auto d : clock.sleeps())
    total += d.count();
  return total;
}

bool Transient(const Status& st) {
  return st.code() == StatusCode::kUnavailable;
}

TEST(Retry, DelaysGrowFromTheBaseAndStopAtTheirCap) {
  RetryPolicy p{.base_ms = 1000, .multiplier = 2, .max_delay_ms = 5000, .max_retries = 10};
  EXPECT_EQ(RetryDelayMs(p, 1), 1000);
  EXPECT_EQ(RetryDelayMs(p, 2), 2000);
  EXPECT_EQ(RetryDelayMs(p, 3), 4000);
  EXPECT_EQ(RetryDelayMs(p, 4), 5000);
  EXPECT_EQ(RetryDelayMs(p, 1000), 5000);
}

TEST(Retry, AFailureThatPassesIsRetriedAfterEachDelay) {
  FakeClock clock;
  std::atomic<bool> cancel{false};
  RetryPolicy p{.base_ms = 1000, .multiplier = 2, .max_delay_ms = 60000, .max_retries = 5};
  std::vector<std::pair<int64_t, int64_t>> retries;
  int calls = 0;
  Status st = RunAttempts(
      clock, p, cancel,
      [&](int64_t n) {
        EXPECT_EQ(n, calls);
        return ++calls < 3 ? Status::Unavailable("busy") : Status::Ok();
      },
      Transient,
      [&](int64_t r, int64_t d, const Status&) {
        retries.push_back({r, d});
      });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(retries, (std::vector<std::pair<int64_t, int64_t>>{{1, 1000}, {2, 2000}}));
  EXPECT_GE(SleptMs(clock), 3000);
  EXPECT_LE(SleptMs(clock), 3000 + 2 * 20);
}

TEST(Retry, APermanentFailureOrSpentRetriesStop) {
  FakeClock clock;
  std::atomic<bool> cancel{false};
  RetryPolicy p{.base_ms = 10, .multiplier = 1, .max_delay_ms = 10, .max_retries = 2};
  int calls = 0;
  Status st = RunAttempts(
      clock, p, cancel, [&](int64_t) { return ++calls, Status::InvalidArgument("bad"); },
      Transient);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  calls = 0;
  st = RunAttempts(
      clock, p, cancel, [&](int64_t) { return ++calls, Status::Unavailable("down"); }, Transient);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "down") << "the last failure, as it was";
  EXPECT_EQ(calls, 3) << "one attempt and two retries";
}

TEST(Retry, ACancelEndsTheWaitAtOnce) {
  FakeClock clock;
  std::atomic<bool> cancel{false};
  RetryPolicy p{.base_ms = 3600000, .multiplier = 1, .max_delay_ms = 3600000, .max_retries = 5};
  int calls = 0;
  Status st = RunAttempts(
      clock, p, cancel, [&](int64_t) { return ++calls, Status::Unavailable("down"); }, Transient,
      [&](int64_t, int64_t, const Status&) { cancel = true; });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
  EXPECT_LT(SleptMs(clock), 3600000) << "the hour was not waited";
}

}  // namespace
}  // namespace absvc::jobs
