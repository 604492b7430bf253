// How a job retries: an attempt that failed in a way that may pass is run again after
// base × multiplier^n (at most max_delay), up to max_retries times, and a cancel ends the
// wait at once. Waits are on a Clock, so tests pass the time without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/status.h"

namespace absvc::jobs {

struct RetryPolicy {
  int64_t base_ms = 1000;
  double multiplier = 2.0;
  int64_t max_delay_ms = 3600 * 1000;
  int64_t max_retries = 3;  // attempts = max_retries + 1
};

// The wait before retry `retry` (1 for the first).
int64_t RetryDelayMs(const RetryPolicy& policy, int64_t retry);

using absvc::WaitCancellable;

// Runs attempt(n), n = 0, 1, ..., until it succeeds, fails in a way `retryable` refuses,
// the retries are spent (its last failure is returned), or `cancel` is set (kCancelled).
// `on_retry(retry, delay_ms, failure)` runs before each wait.
Status RunAttempts(
    Clock& clock, const RetryPolicy& policy, const std::atomic<bool>& cancel,
    const std::function<Status(int64_t attempt)>& attempt,
    const std::function<bool(const Status&)>& retryable,
    const std::function<void(int64_t retry, int64_t delay_ms, const Status&)>& on_retry = {});

}  // namespace absvc::jobs
