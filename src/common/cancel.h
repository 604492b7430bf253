// Cancellation is a flag (`const std::atomic<bool>&`) that the canceller sets and every
// long wait looks at; waits take a Clock so tests pass the time without sleeping.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

#include <mutex>

namespace absvc {

// A cancel flag for work that may outlive the flag's owner (a storage's transfers still
// finishing after the job that cancelled them is gone): it follows an outside flag until
// Detach, and reads as cancelled from then on. Whoever holds a CancelLink (shared) never
// touches the outside flag after Detach returns, so that flag need only outlive the
// Detach call.
class CancelLink {
 public:
  explicit CancelLink(const std::atomic<bool>* outside) : outside_(outside) {}
  bool cancelled() const {
    if (detached_.load()) return true;
    std::lock_guard lock(mu_);
    return outside_ != nullptr && outside_->load();
  }
  void Detach() {
    std::lock_guard lock(mu_);
    outside_ = nullptr;
    detached_ = true;
  }

 private:
  mutable std::mutex mu_;
  const std::atomic<bool>* outside_;
  std::atomic<bool> detached_{false};
};

// Waits `ms` on `clock`, asking `cancelled()` every 20 ms of it; false when cancelled.
template <typename Cancelled>
bool WaitUnlessCancelled(Clock& clock, int64_t ms, const Cancelled& cancelled) {
  const auto end = clock.Now() + std::chrono::milliseconds(ms);
  for (auto now = clock.Now(); now < end; now = clock.Now()) {
    if (cancelled()) return false;
    clock.SleepFor(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(20),
        std::chrono::duration_cast<std::chrono::milliseconds>(end - now) +
            std::chrono::milliseconds(1)));
  }
  return !cancelled();
}

inline bool WaitCancellable(Clock& clock, int64_t ms, const std::atomic<bool>& cancel) {
  return WaitUnlessCancelled(clock, ms, [&] { return cancel.load(); });
}
inline bool WaitCancellable(Clock& clock, int64_t ms, const CancelLink& cancel) {
  return WaitUnlessCancelled(clock, ms, [&] { return cancel.cancelled(); });
}

}  // namespace absvc
