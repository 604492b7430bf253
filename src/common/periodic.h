// Periodic: runs a function every `interval` on its own thread until stopped (or
// destroyed). Stop() wakes the thread at once and waits for a run in progress to end;
// the function is not run again after Stop() returns. Stop may be called from several
// threads at once (each returns once the thread has ended); not from the function itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace absvc {

class Periodic {
 public:
  Periodic(std::chrono::milliseconds interval, std::function<void()> fn)
      : interval_(interval), fn_(std::move(fn)), thread_([this] { Loop(); }) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    std::lock_guard join(join_mu_);  // one joins; the others wait until it has
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopped_; })) {
      lock.unlock();
      fn_();
      lock.lock();
    }
  }

  std::chrono::milliseconds interval_;
  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::mutex join_mu_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace absvc
