// Time as a dependency: code that waits (retry backoff, deadlines, a scheduler's next
// fire time) takes a Clock, so tests run it on a FakeClock that advances instantly and
// records every pause.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  // Wall-clock time, for what is scheduled by the calendar and named by time (cron fire
  // times, backup directory names).
  virtual int64_t UnixMillis() = 0;
  // Waits on `cv` (its mutex held through `lock`) until notified or until the wall clock
  // reaches `unix_ms`; may return early, so callers check their condition again.
  virtual void WaitUntilUnix(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             int64_t unix_ms) = 0;
  // The process's steady clock.
  static Clock& Real();
};

class RealClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
  int64_t UnixMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void WaitUntilUnix(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                     int64_t unix_ms) override {
    cv.wait_until(lock, std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
  }
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
    unix_ms_ += d.count();
    sleeps_.push_back(d);
  }
  int64_t UnixMillis() override {
    std::lock_guard lock(mu_);
    return unix_ms_;
  }
  // Time moves only when the test says: a waiter looks again every millisecond of real
  // time, so it sees each Advance at once and never waits for the calendar.
  void WaitUntilUnix(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                     int64_t unix_ms) override {
    if (UnixMillis() < unix_ms) cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
    unix_ms_ += d.count();
  }
  void SetUnixMillis(int64_t unix_ms) {
    std::lock_guard lock(mu_);
    unix_ms_ = unix_ms;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_ = TimePoint() + std::chrono::hours(1);
  int64_t unix_ms_ = 1764547200000;  // 2025-12-01T00:00:00Z
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace absvc
