// The executor and the part pipeline under contention: many producers, parts finishing
// out of order, idle threads timing out while work arrives, wedged parts, cancels and
// closed storages. Built into the concurrency suite, which make test runs under
// ThreadSanitizer. Every wait in these tests has a deadline: a wedge fails, never hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "common/memory_budget.h"
#include "common/periodic.h"
#include "common/semaphore.h"
#include "storage/cloud/transfer.h"

namespace absvc {
namespace {

using namespace std::chrono_literals;

// A gate tests open once: tasks that wait on it stand for a storage that stopped answering.
// Copies share one gate, so a task that captures a copy may outlive the test that made it
// (an abandoned part still wakes, or starts, after the test has returned).
class Gate {
 public:
  void Open() const {
    std::lock_guard lock(s_->mu);
    s_->open = true;
    s_->cv.notify_all();
  }
  // False when `deadline` passed first.
  bool Wait(std::chrono::milliseconds deadline = 30s) const {
    std::unique_lock lock(s_->mu);
    return s_->cv.wait_for(lock, deadline, [&] { return s_->open; });
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
  };
  std::shared_ptr<State> s_ = std::make_shared<State>();
};

// Waits (polling, with a deadline) until `done` holds.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds deadline = 30s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// The case that wedged absd: idle threads timing out while busy ones take freshly queued
// tasks. Threads come and go thousands of times; every task must run, the thread count
// must stay within its bound, and the executor must still start work once all is quiet.
TEST(Executor, EveryTaskRunsWhileIdleThreadsTimeOutUnderContention) {
  Executor executor({.max_threads = 6, .idle_timeout = 1ms});
  constexpr int kProducers = 8, kTasksEach = 1500;
  std::atomic<int> ran{0};
  std::atomic<bool> stop_watch{false};
  std::atomic<size_t> most_threads{0}, idle_above_threads{0};
  std::thread watcher([&] {
    while (!stop_watch) {
      auto c = executor.counts();
      most_threads = std::max<size_t>(most_threads, c.threads);
      if (c.idle > c.threads) ++idle_above_threads;
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 rng(p);
      for (int i = 0; i < kTasksEach; ++i) {
        ASSERT_TRUE(executor.Post([&ran, spin = rng() % 200] {
          volatile unsigned x = 0;
          for (unsigned k = 0; k < spin; ++k)
            x = x + k;
          ++ran;
        }));
        // Pauses long enough for threads to time out between bursts.
        if (rng() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
      }
    });
  }
  for (auto& t : producers)
    t.join();
  EXPECT_TRUE(Eventually([&] { return ran.load() == kProducers * kTasksEach; }))
      << ran.load() << " of " << kProducers * kTasksEach << " tasks ran";
  // Quiet: every thread leaves; new work still starts one.
  EXPECT_TRUE(executor.WaitIdle(10s)) << executor.counts().threads << " threads left";
  std::atomic<bool> late{false};
  ASSERT_TRUE(executor.Post([&] { late = true; }));
  EXPECT_TRUE(Eventually([&] { return late.load(); }, 10s));
  stop_watch = true;
  watcher.join();
  EXPECT_LE(most_threads.load(), 6u);
  EXPECT_EQ(idle_above_threads.load(), 0u);
  EXPECT_GT(executor.counts().started, 6u)
      << "idle threads never timed out: the test lost its point";
}

TEST(Executor, ThreadsStayWithinTheBoundAndQueuedTasksWaitTheirTurn) {
  Executor executor({.max_threads = 4, .idle_timeout = 60s});
  Gate gate;
  std::atomic<int> running{0}, ran{0};
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(executor.Post([&] {
      ++running;
      gate.Wait();
      --running;
      ++ran;
    }));
  }
  ASSERT_TRUE(Eventually([&] { return running.load() == 4; }));
  auto c = executor.counts();
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.queued, 36u);
  gate.Open();
  EXPECT_TRUE(Eventually([&] { return ran.load() == 40; }));
  EXPECT_LE(executor.counts().started, 4u);
}

// What a task captured learns, from its destructor, whether it ran.
struct Witness {
  std::atomic<int>* dropped;
  bool ran = false;
  explicit Witness(std::atomic<int>* d) : dropped(d) {}
  ~Witness() {
    if (!ran) ++*dropped;
  }
};

TEST(Executor, ShutdownDropsQueuedTasksTellsThemAndRefusesNewOnes) {
  Executor executor({.max_threads = 1, .idle_timeout = 60s});
  Gate gate;
  std::atomic<int> dropped{0}, ran{0};
  std::atomic<bool> started{false};
  ASSERT_TRUE(executor.Post([&] {
    started = true;
    gate.Wait();
    ++ran;
  }));
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  for (int i = 0; i < 10; ++i) {
    auto w = std::make_shared<Witness>(&dropped);
    ASSERT_TRUE(executor.Post([w, &ran] {
      w->ran = true;
      ++ran;
    }));
  }
  executor.Shutdown();
  EXPECT_EQ(dropped.load(), 10);
  auto w = std::make_shared<Witness>(&dropped);
  EXPECT_FALSE(executor.Post([w] { w->ran = true; }));
  w.reset();
  EXPECT_EQ(dropped.load(), 11);
  EXPECT_FALSE(executor.WaitIdle(20ms)) << "the running task is still running";
  gate.Open();
  EXPECT_TRUE(executor.WaitIdle(10s));
  EXPECT_EQ(ran.load(), 1);
}

TEST(Executor, MayBeDestroyedFromItsOwnTask) {
  auto executor = std::make_shared<Executor>(Executor::Options{.max_threads = 2});
  std::atomic<bool> done{false};
  std::weak_ptr<Executor> weak = executor;
  ASSERT_TRUE(executor->Post([held = executor, &done]() mutable {
    held.reset();  // the last owner lets go on the executor's own thread
    done = true;
  }));
  executor.reset();
  EXPECT_TRUE(Eventually([&] { return done.load() && weak.expired(); }));
}

// ---------------------------------------------------------------- the part pipeline

using storage::cloud::PartControl;
using storage::cloud::PartPipeline;

PartControl Control(size_t threads, const std::atomic<bool>* cancel = nullptr,
                    std::chrono::milliseconds deadline = 30s) {
  PartControl c;
  c.executor = std::make_shared<Executor>(Executor::Options{.max_threads = threads});
  c.cancel = std::make_shared<CancelLink>(cancel);
  c.part_deadline = deadline;
  return c;
}

// Submits part `n`, which answers only once `gate` opens: a storage that stopped.
Status SubmitStuck(PartPipeline& pipeline, int n, Gate& gate) {
  return pipeline.Submit(n, 0, [gate] {
    gate.Wait();
    return Result<std::string>("late");
  });
}

// Many objects on one storage's executor at once, each with parts that finish out of
// order: every object gets each part's answer under its number, and no more parts are
// in flight per object than its bound.
TEST(PartPipeline, ManyObjectsWithPartsFinishingOutOfOrder) {
  PartControl control = Control(8);
  constexpr int kObjects = 12, kParts = 40, kInFlight = 4;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int o = 0; o < kObjects; ++o) {
    writers.emplace_back([&, o] {
      PartPipeline pipeline(control, "object-" + std::to_string(o), kInFlight);
      auto in_flight = std::make_shared<std::atomic<int>>(0);
      auto most = std::make_shared<std::atomic<int>>(0);
      std::mt19937 rng(o);
      for (int n = 1; n <= kParts; ++n) {
        auto pause = std::chrono::microseconds(rng() % 2000);
        Status st = pipeline.Submit(n, 0, [n, o, pause, in_flight, most]() -> Result<std::string> {
          int now = ++*in_flight;
          int seen = most->load();
          while (now > seen && !most->compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(pause);
          --*in_flight;
          return std::to_string(o) + ":" + std::to_string(n);
        });
        if (!st.ok()) ++failures;
      }
      auto answers = pipeline.Finish();
      if (!answers.ok() || answers->size() != kParts) {
        ++failures;
        return;
      }
      for (int n = 1; n <= kParts; ++n) {
        if ((*answers)[n] != std::to_string(o) + ":" + std::to_string(n)) ++failures;
      }
      if (most->load() > kInFlight) ++failures;
    });
  }
  for (auto& t : writers)
    t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(PartPipeline, AFailedPartFailsTheObjectAndLaterSubmits) {
  PartControl control = Control(4);
  PartPipeline pipeline(control, "s3://b/k", 2);
  ASSERT_TRUE(pipeline.Submit(1, 0, [] { return Result<std::string>("a"); }).ok());
  ASSERT_TRUE(
      pipeline.Submit(2, 0, [] { return Result<std::string>(Status::Io("HTTP 403")); }).ok());
  Status st = Status::Ok();
  for (int n = 3; n < 10 && st.ok(); ++n)
    st = pipeline.Submit(n, 0, [] { return Result<std::string>("x"); });
  EXPECT_EQ(st.code(), StatusCode::kIo) << st.ToString();
  EXPECT_EQ(pipeline.Finish().status().code(), StatusCode::kIo);
}

// A part that never answers (a storage that stopped) cannot hold the writer: a cancel
// ends the wait at once, and so does the part's deadline.
TEST(PartPipeline, ACancelEndsTheWaitOnAPartThatNeverAnswers) {
  std::atomic<bool> cancel{false};
  PartControl control = Control(4, &cancel);
  Gate gate;
  PartPipeline pipeline(control, "s3://b/stuck", 2);
  ASSERT_TRUE(SubmitStuck(pipeline, 1, gate).ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto answers = pipeline.Finish();
  canceller.join();
  EXPECT_EQ(answers.status().code(), StatusCode::kCancelled) << answers.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The abandoned part still finishes on its own and touches nothing freed.
  gate.Open();
  EXPECT_TRUE(control.executor->counts().threads <= 4);
}

TEST(PartPipeline, APartPastItsDeadlineIsATimeout) {
  PartControl control = Control(2, nullptr, 100ms);
  Gate gate;
  {
    PartPipeline pipeline(control, "gs://b/slow", 4);
    ASSERT_TRUE(SubmitStuck(pipeline, 1, gate).ok());
    auto answers = pipeline.Finish();
    EXPECT_EQ(answers.status().code(), StatusCode::kTimeout) << answers.status().ToString();
    EXPECT_NE(answers.status().message().find("part 1"), std::string::npos);
  }
  gate.Open();
  EXPECT_TRUE(Eventually([&] { return control.executor->counts().idle == 1; }));
}

// Each storage owns its executor: one whose threads are all stuck does not delay another.
TEST(PartPipeline, AWedgedStorageDoesNotStallAnother) {
  std::atomic<bool> cancel_a{false};
  PartControl a = Control(2, &cancel_a), b = Control(2);
  Gate gate;
  PartPipeline stuck(a, "s3://a/k", 4);
  for (int n = 1; n <= 4; ++n) {
    ASSERT_TRUE(SubmitStuck(stuck, n, gate).ok());
  }
  PartPipeline fine(b, "s3://b/k", 4);
  for (int n = 1; n <= 20; ++n)
    ASSERT_TRUE(fine.Submit(n, 0, [n] { return Result<std::string>(std::to_string(n)); }).ok());
  auto answers = fine.Finish();
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  EXPECT_EQ(answers->size(), 20u);
  cancel_a = true;
  EXPECT_EQ(stuck.Finish().status().code(), StatusCode::kCancelled);
  gate.Open();
}

// A storage closed while parts wait in its queue: they are dropped, and their waits end
// with that reason instead of running into the deadline.
TEST(PartPipeline, PartsQueuedOnAClosedStorageAreDroppedNotWaitedFor) {
  PartControl control = Control(1);
  Gate gate;
  PartPipeline pipeline(control, "az://c/blob", 8);
  ASSERT_TRUE(SubmitStuck(pipeline, 1, gate).ok());
  for (int n = 2; n <= 5; ++n)
    ASSERT_TRUE(pipeline.Submit(n, 0, [] { return Result<std::string>("queued"); }).ok());
  control.executor->Shutdown();
  gate.Open();
  auto answers = pipeline.Finish();
  EXPECT_EQ(answers.status().code(), StatusCode::kCancelled) << answers.status().ToString();
  EXPECT_NE(answers.status().message().find("storage was closed"), std::string::npos);
  PartPipeline after(control, "az://c/other", 8);
  EXPECT_EQ(after.Submit(1, 0, [] { return Result<std::string>("x"); }).code(),
            StatusCode::kUnavailable);
}

// A storage closed while a part still runs (its job gone, and the job's cancel flag with
// it): the part reads as cancelled from then on and never touches the freed flag. ASan
// found the dangling read in a curl progress callback.
TEST(PartPipeline, APartOutlivingItsStorageNeverTouchesTheJobsFlag) {
  auto flag = std::make_unique<std::atomic<bool>>(false);
  PartControl control = Control(2, flag.get());
  std::shared_ptr<CancelLink> link = control.cancel;
  Gate gate;
  std::atomic<int> seen{-1};  // what the part saw after the close: 1 cancelled
  std::atomic<bool> running{false};
  {
    PartPipeline pipeline(control, "s3://b/late", 2);
    ASSERT_TRUE(pipeline
                    .Submit(1, 0,
                            [gate, link, &seen, &running] {
                              running = true;
                              gate.Wait();
                              seen = link->cancelled() ? 1 : 0;
                              return Result<std::string>("late");
                            })
                    .ok());
    ASSERT_TRUE(Eventually([&] { return running.load(); }));
    control.Close();  // the storage closes ...
    flag.reset();     // ... and the job's flag is gone
  }
  gate.Open();
  EXPECT_TRUE(Eventually([&] { return seen.load() == 1; })) << seen.load();
}

// ---------------------------------------------------------------- other primitives

// Reservations under contention: 16 threads reserve random sizes up to the whole limit and
// hold them a moment. What is held at once never exceeds the limit, nobody starves (each
// thread gets all of its turns), and everything is given back.
TEST(MemoryBudget, ReservationsNeverOverdrawTheLimitUnderContention) {
  constexpr uint64_t kLimit = 1000;
  auto budget = MemoryBudget::Create(kLimit);
  std::atomic<uint64_t> held{0}, most{0};
  std::atomic<int> turns{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 300; ++i) {
        uint64_t bytes = 1 + rng() % kLimit;
        auto lease = budget->Reserve(bytes, nullptr, std::chrono::steady_clock::now() + 30s);
        if (!lease.ok()) {
          ++failures;
          continue;
        }
        uint64_t now = held += bytes;
        uint64_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
        held -= bytes;
        ++turns;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(turns.load(), 16 * 300);
  EXPECT_LE(most.load(), kLimit);
  auto counts = budget->counts();
  EXPECT_EQ(counts.in_use, 0u);
  EXPECT_LE(counts.peak, kLimit);
  EXPECT_GT(counts.waits, 0u) << "the test must make reservations wait";
  EXPECT_EQ(counts.waiting, 0u);
}

// A request larger than the limit runs alone rather than never; memory charged by others
// (open buffers) cannot hold a reservation back for ever either; a wait ends at a cancel
// and at its deadline, and a later request does not jump the queue.
TEST(MemoryBudget, OneReservationAlwaysGoesAndEveryWaitEnds) {
  auto budget = MemoryBudget::Create(100);
  auto huge = budget->Reserve(500, nullptr, std::chrono::steady_clock::now() + 1s);
  ASSERT_TRUE(huge.ok());
  EXPECT_FALSE(budget->TryReserve(1));
  huge->Release();
  auto charged = budget->Charge(150);  // over the limit on its own
  auto alone = budget->Reserve(10, nullptr, std::chrono::steady_clock::now() + 1s);
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();

  std::atomic<bool> flag{false};
  CancelLink cancel(&flag);
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    flag = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto cancelled = budget->Reserve(10, &cancel, start + 30s);
  canceller.join();
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  auto timed_out = budget->Reserve(10, nullptr, std::chrono::steady_clock::now() + 30ms);
  EXPECT_EQ(timed_out.status().code(), StatusCode::kTimeout);
  EXPECT_NE(timed_out.status().message().find("budget"), std::string::npos);

  // In order of arrival: a big request waiting is not overtaken by small ones.
  alone->Release();
  charged.Release();
  auto first = budget->Reserve(60, nullptr, std::chrono::steady_clock::now() + 1s);
  ASSERT_TRUE(first.ok());
  std::atomic<bool> big_granted{false};
  std::thread big([&] {
    auto l = budget->Reserve(80, nullptr, std::chrono::steady_clock::now() + 30s);
    big_granted = l.ok();
  });
  ASSERT_TRUE(Eventually([&] { return budget->counts().waiting == 1; }));
  EXPECT_FALSE(budget->TryReserve(10)) << "a small request must not overtake a waiting one";
  first->Release();
  big.join();
  EXPECT_TRUE(big_granted.load());
  EXPECT_EQ(budget->counts().in_use, 0u);
}

// Pipelines sharing a budget of six parts: twelve objects of 40 one-MiB parts each, parts
// finishing out of order. Never more than six parts' bytes are held at once, every part
// is answered, and the budget is whole again at the end.
TEST(PartPipeline, PartsInFlightStayWithinTheMemoryBudget) {
  constexpr size_t kPart = 1 << 20;
  PartControl control = Control(16);
  control.memory = MemoryBudget::Create(6 * kPart);
  std::atomic<int64_t> held{0}, most{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int o = 0; o < 12; ++o) {
    writers.emplace_back([&, o] {
      PartPipeline pipeline(control, "object-" + std::to_string(o), 4);
      std::mt19937 rng(o);
      for (int n = 1; n <= 40; ++n) {
        auto pause = std::chrono::microseconds(rng() % 1000);
        Status st = pipeline.Submit(n, kPart, [&, pause]() -> Result<std::string> {
          int64_t now = held += kPart;
          int64_t seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(pause);
          held -= kPart;
          return std::string("etag");
        });
        if (!st.ok()) ++failures;
      }
      auto answers = pipeline.Finish();
      if (!answers.ok() || answers->size() != 40) ++failures;
    });
  }
  for (auto& t : writers)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most.load(), static_cast<int64_t>(6 * kPart));
  EXPECT_EQ(control.memory->counts().in_use, 0u);
  EXPECT_GT(control.memory->counts().waits, 0u);
}

// A storage that stopped answering holds the whole budget: another object's wait for
// memory still ends, at its job's cancel.
TEST(PartPipeline, AWaitForMemoryHeldByAWedgedPartEndsAtACancel) {
  Gate gate;
  PartControl wedged = Control(4);
  wedged.memory = MemoryBudget::Create(100);
  PartPipeline stuck(wedged, "stuck", 4);
  ASSERT_TRUE(stuck
                  .Submit(1, 100,
                          [gate] {
                            gate.Wait();
                            return Result<std::string>("late");
                          })
                  .ok());
  std::atomic<bool> flag{false};
  PartControl other = Control(4, &flag);
  other.memory = wedged.memory;
  PartPipeline waiting(other, "waiting", 4);
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    flag = true;
  });
  auto start = std::chrono::steady_clock::now();
  Status st = waiting.Submit(1, 10, [] { return Result<std::string>("x"); });
  canceller.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_NE(st.message().find("memory"), std::string::npos) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  gate.Open();
  EXPECT_TRUE(stuck.Finish().ok());
  EXPECT_TRUE(Eventually([&] { return wedged.memory->counts().in_use == 0; }));
}

// A periodic task runs again and again; Stop, called from several threads at once while a
// run is in progress, waits for that run, and nothing runs after it returns.
TEST(Periodic, RunsUntilStoppedAndNeverAfterStopReturns) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> runs{0};
    std::atomic<bool> running{false}, after_stop{false}, stopped{false};
    Periodic task(1ms, [&] {
      running = true;
      if (stopped) after_stop = true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ++runs;
      running = false;
    });
    ASSERT_TRUE(Eventually([&] { return runs.load() >= 3; }));
    std::vector<std::thread> stoppers;
    for (int t = 0; t < 4; ++t)
      stoppers.emplace_back([&] {
        task.Stop();
        EXPECT_FALSE(running.load()) << "Stop returned while a run was in progress";
      });
    for (auto& t : stoppers)
      t.join();
    stopped = true;
    const int at_stop = runs.load();
    std::this_thread::sleep_for(3ms);
    EXPECT_EQ(runs.load(), at_stop) << "a run after Stop returned";
    EXPECT_FALSE(after_stop.load());
  }
}

TEST(Semaphore, PermitsAreNeverOverdrawnUnderContention) {
  Semaphore sem(3);
  std::atomic<int> holders{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        ASSERT_TRUE(sem.Acquire());
        int now = ++holders;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --holders;
        sem.Release();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(Semaphore, ACancelEndsAWaitForAPermit) {
  Semaphore sem(1);
  ASSERT_TRUE(sem.Acquire());
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    cancel = true;
  });
  EXPECT_FALSE(sem.Acquire(&cancel));
  t.join();
  sem.Release();
}

}  // namespace
}  // namespace absvc
