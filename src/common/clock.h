// Time as a dependency: code that waits (retry backoff, deadlines) takes a Clock, so
// tests run it on a FakeClock that advances instantly and records every pause.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace absvc {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
  // The process's steady clock.
  static Clock& Real();
};

class RealClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

inline Clock& Clock::Real() {
  static RealClock clock;
  return clock;
}

// Starts at an arbitrary point; SleepFor moves time on at once and remembers the pause.
class FakeClock : public Clock {
 public:
  TimePoint Now() override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void SleepFor(std::chrono::milliseconds d) override {
    std::lock_guard lock(mu_);
    now_ += d;
    sleeps_.push_back(d);
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_ = TimePoint() + std::chrono::hours(1);
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace absvc
