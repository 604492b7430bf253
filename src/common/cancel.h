// Cancellation is a flag (`const std::atomic<bool>&`) that the canceller sets and every
// long wait looks at; waits take a Clock so tests pass the time without sleeping.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace absvc {

// Waits `ms` on `clock`, looking at `cancel` every 20 ms of it; false when cancelled.
inline bool WaitCancellable(Clock& clock, int64_t ms, const std::atomic<bool>& cancel) {
  const auto end = clock.Now() + std::chrono::milliseconds(ms);
  for (auto now = clock.Now(); now < end; now = clock.Now()) {
    if (cancel.load()) return false;
    clock.SleepFor(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(20),
        std::chrono::duration_cast<std::chrono::milliseconds>(end - now) +
            std::chrono::milliseconds(1)));
  }
  return !cancel.load();
}

}  // namespace absvc
