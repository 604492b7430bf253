// A token bucket shared by threads: Acquire(n) sleeps until n more units fit in the
// rate. Used for records-per-second, tps and bandwidth limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace absvc {

class RateLimiter {
 public:
  // per_second == 0 means unlimited.
  explicit RateLimiter(uint64_t per_second) : per_second_(per_second) {}

  void Acquire(uint64_t n) {
    if (per_second_ == 0) return;
    std::chrono::steady_clock::time_point due;
    {
      std::lock_guard lock(mu_);
      auto now = std::chrono::steady_clock::now();
      if (next_ < now - std::chrono::milliseconds(100))
        next_ = now - std::chrono::milliseconds(100);
      due = next_;
      next_ += std::chrono::nanoseconds(n * 1000000000ull / per_second_);
    }
    std::this_thread::sleep_until(due);
  }

 private:
  const uint64_t per_second_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now();
};

}  // namespace absvc
