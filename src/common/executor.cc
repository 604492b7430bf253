#include "common/executor.h"

#include <system_error>
#include <thread>
#include <utility>

namespace absvc {

struct Executor::State {
  explicit State(Options o) : options(o) {
    if (options.max_threads == 0) options.max_threads = 1;
  }
  Options options;
  mutable std::mutex mu;
  std::condition_variable wake;  // a task was queued, or shutdown
  std::condition_variable gone;  // a thread left
  std::deque<std::function<void()>> queue;
  size_t threads = 0;  // counted from before start to the critical section where it leaves
  size_t idle = 0;     // threads inside wait; each changes only its own share
  size_t wakeups = 0;  // notifications sent and not yet taken by a waking thread
  size_t started = 0;
  bool shutdown = false;
};

Executor::Executor(Options options) : state_(std::make_shared<State>(options)) {}

Executor::~Executor() {
  Shutdown();
}

bool Executor::Post(std::function<void()> task) {
  std::function<void()> refused;  // destroyed outside the lock: it may run code
  {
    std::lock_guard lock(state_->mu);
    if (state_->shutdown) {
      refused = std::move(task);
    } else {
      state_->queue.push_back(std::move(task));
      if (state_->idle > state_->wakeups) {
        ++state_->wakeups;
        state_->wake.notify_one();
        return true;
      }
      if (state_->threads >= state_->options.max_threads) return true;  // a busy one takes it
      ++state_->threads;
      ++state_->started;
      try {
        std::thread(Work, state_).detach();
        return true;
      } catch (const std::system_error&) {
        --state_->threads;
        --state_->started;
        if (state_->threads > 0) return true;  // a living thread will take it
        refused = std::move(state_->queue.back());
        state_->queue.pop_back();
      }
    }
  }
  return false;
}

void Executor::Work(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mu);
  while (true) {
    if (state->queue.empty() && !state->shutdown) {
      ++state->idle;
      bool woken = state->wake.wait_for(lock, state->options.idle_timeout,
                                        [&] { return !state->queue.empty() || state->shutdown; });
      --state->idle;
      if (state->wakeups > 0) --state->wakeups;
      (void)woken;
    }
    if (state->queue.empty() || state->shutdown) break;  // timed out idle, or shut down
    auto task = std::move(state->queue.front());
    state->queue.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // what it captured goes before the lock is taken again
    lock.lock();
  }
  --state->threads;
  state->gone.notify_all();
}

void Executor::Shutdown() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(state_->mu);
    if (state_->shutdown) return;
    state_->shutdown = true;
    dropped.swap(state_->queue);
    state_->wake.notify_all();
  }
  // Destroyed here, outside the lock: a dropped task's captures may tell their waiters.
}

bool Executor::WaitIdle(std::chrono::milliseconds deadline) {
  std::unique_lock lock(state_->mu);
  return state_->gone.wait_for(lock, deadline, [&] { return state_->threads == 0; });
}

Executor::Counts Executor::counts() const {
  std::lock_guard lock(state_->mu);
  return {state_->threads, state_->idle, state_->queue.size(), state_->started};
}

}  // namespace absvc
