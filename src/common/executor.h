// Executor: a bounded set of threads that run posted tasks in order of arrival.
//
// Contract:
// - At most `max_threads` threads exist at once. They start on demand (a task that finds
//   no idle thread starts one while below the bound) and an idle one leaves after
//   `idle_timeout`, so an idle executor costs no thread.
// - No task is stranded: a thread leaves only when it has found the queue empty, and it
//   stops counting itself in the same critical section; so whenever a task is queued,
//   either a counted thread will look at the queue again or Post starts one. The idle
//   count only decides whether to wake a sleeper or start a thread; a wrong guess costs
//   parallelism for a moment, never liveness.
// - Post fails (false) after Shutdown, or when no thread exists and none can be started:
//   the caller learns at once instead of waiting for a task that never runs.
// - Shutdown (also the destructor) takes no new tasks and destroys the queued ones without
//   running them (a task learns it was dropped from the destructor of what it captured).
//   Tasks already running finish on their threads, which then leave; the
//   destructor never joins, so an executor may be destroyed from one of its own tasks.
//   WaitIdle waits, with a deadline, until no thread is left.
// - One executor is owned per storage: a wedged storage ties up only its own threads.
// Not fork-safe: a forked child must not use an executor of its parent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace absvc {

class Executor {
 public:
  struct Options {
    size_t max_threads = 16;
    std::chrono::milliseconds idle_timeout{60000};
  };
  explicit Executor(Options options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; false (and `task` destroyed) after Shutdown or when no thread can run it.
  bool Post(std::function<void()> task);
  void Shutdown();
  // True once no thread is left (after Shutdown, or idle ones having timed out), false when
  // the deadline passed first.
  bool WaitIdle(std::chrono::milliseconds deadline);

  struct Counts {
    size_t threads = 0;  // alive
    size_t idle = 0;     // waiting for a task
    size_t queued = 0;
    size_t started = 0;  // threads ever started
  };
  Counts counts() const;

 private:
  struct State;
  static void Work(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace absvc
