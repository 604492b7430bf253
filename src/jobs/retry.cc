#include "jobs/retry.h"

#include <algorithm>
#include <cmath>

namespace absvc::jobs {

int64_t RetryDelayMs(const RetryPolicy& policy, int64_t retry) {
  const double exponent = static_cast<double>(std::clamp<int64_t>(retry - 1, 0, 64));
  const double delay = static_cast<double>(policy.base_ms) * std::pow(policy.multiplier, exponent);
  return static_cast<int64_t>(
      std::clamp(delay, 0.0, static_cast<double>(std::max<int64_t>(0, policy.max_delay_ms))));
}

Status RunAttempts(Clock& clock, const RetryPolicy& policy, const std::atomic<bool>& cancel,
                   const std::function<Status(int64_t attempt)>& attempt,
                   const std::function<bool(const Status&)>& retryable,
                   const std::function<void(int64_t, int64_t, const Status&)>& on_retry) {
  for (int64_t n = 0;; ++n) {
    Status st = attempt(n);
    if (st.ok()) return st;
    if (cancel.load())
      return st.code() == StatusCode::kCancelled ? st : Status::Cancelled("cancelled");
    if (!retryable(st) || n >= policy.max_retries) return st;
    const int64_t delay = RetryDelayMs(policy, n + 1);
    if (on_retry) on_retry(n + 1, delay, st);
    if (!WaitCancellable(clock, delay, cancel)) return Status::Cancelled("cancelled");
  }
}

}  // namespace absvc::jobs
