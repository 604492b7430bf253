// A counting semaphore whose waits can be cancelled, sized at run time (the standard one
// is sized at compile time and cannot be interrupted).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace absvc {

class Semaphore {
 public:
  // permits <= 0 means unlimited: Acquire never waits.
  explicit Semaphore(int64_t permits) : permits_(permits), free_(permits) {}

  // Waits for a permit; false when `cancel` became true first.
  bool Acquire(const std::atomic<bool>* cancel = nullptr) {
    if (permits_ <= 0) return !(cancel && cancel->load());
    std::unique_lock lock(mu_);
    while (free_ == 0) {
      if (cancel && cancel->load()) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    if (cancel && cancel->load()) return false;
    --free_;
    return true;
  }

  void Release() {
    if (permits_ <= 0) return;
    std::lock_guard lock(mu_);
    ++free_;
    cv_.notify_one();
  }

  int64_t permits() const { return permits_; }
  int64_t in_use() const {
    if (permits_ <= 0) return 0;
    std::lock_guard lock(mu_);
    return permits_ - free_;
  }

 private:
  const int64_t permits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t free_;
};

}  // namespace absvc
