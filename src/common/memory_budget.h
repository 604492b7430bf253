// MemoryBudget: one count of the bytes a process holds for data in transit (upload parts
// in flight, write buffers, restore batches and read chunks), against one limit
// (service.memory-budget-mib, absctl --memory-budget; 256 MiB by default).
//
// Contract:
// - Reserve waits, in order of arrival, until the bytes fit under the limit, so whoever
//   asks for memory that is not there is held back (back-pressure) instead of allocating.
//   It always grants when no reservation is out at all: a request larger than the whole
//   limit runs alone, and there is always one that can go, so work never deadlocks on the
//   budget. Every wait ends: granted, cancelled (the CancelLink, looked at every 20 ms) or
//   past its deadline.
// - Reservations are held only by work that ends on its own (a part in flight ends at its
//   deadline), never by someone who then waits for more: nobody holds memory while waiting.
// - Charge counts memory that must exist for work to progress (one write buffer per open
//   file, a restore worker's read chunk) without waiting; the sizing of jobs (how many
//   writers, how many restore workers, how large a batch) keeps what is charged well under
//   the limit, with a warning when it had to cut what the settings asked for.
// - A Lease gives its bytes back when destroyed; it keeps its budget alive.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "common/cancel.h"
#include "common/status.h"

namespace absvc {

inline constexpr uint64_t kDefaultMemoryBudgetBytes = uint64_t{256} << 20;

class MemoryBudget : public std::enable_shared_from_this<MemoryBudget> {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }
    uint64_t bytes() const { return bytes_; }
    void Release();

   private:
    friend class MemoryBudget;
    Lease(std::shared_ptr<MemoryBudget> budget, uint64_t bytes, bool reserved)
        : budget_(std::move(budget)), bytes_(bytes), reserved_(reserved) {}
    std::shared_ptr<MemoryBudget> budget_;
    uint64_t bytes_ = 0;
    bool reserved_ = false;
  };

  static std::shared_ptr<MemoryBudget> Create(uint64_t limit_bytes);

  // Waits until `bytes` fit (see the contract); kCancelled or kTimeout otherwise.
  Result<Lease> Reserve(uint64_t bytes, const CancelLink* cancel,
                        std::chrono::steady_clock::time_point deadline);
  // `bytes` if they fit now and nobody waits before; nothing otherwise.
  std::optional<Lease> TryReserve(uint64_t bytes);
  // Counts `bytes` without waiting.
  Lease Charge(uint64_t bytes);

  uint64_t limit() const;
  void set_limit(uint64_t bytes);
  // What is not in use now (0 when over the limit): how a job starting beside others
  // sizes itself.
  uint64_t room() const;
  struct Counts {
    uint64_t in_use = 0;  // reserved + charged
    uint64_t peak = 0;    // the most in use at once
    uint64_t waits = 0;   // reservations that had to wait
    size_t waiting = 0;   // waiting now
  };
  Counts counts() const;

 private:
  explicit MemoryBudget(uint64_t limit_bytes) : limit_(limit_bytes) {}
  bool FitsLocked(uint64_t bytes) const;
  void GiveBack(uint64_t bytes, bool reserved);
  void AddLocked(uint64_t bytes, bool reserved);

  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint64_t limit_;
  uint64_t in_use_ = 0;
  uint64_t reserved_ = 0;  // of in_use_, by Reserve/TryReserve
  Counts counts_;
  std::deque<uint64_t> queue_;  // tickets of waiting reservations, in arrival order
  uint64_t next_ticket_ = 0;
};

// The process's budget; absd and absctl set its limit from their settings at start.
std::shared_ptr<MemoryBudget> ProcessMemoryBudget();

// Buffers of 1 MiB and more (parts, chunks, batches) get pages of their own that go back to
// the system when freed. By default glibc raises its threshold after the first such free
// and serves later ones from its arenas, where freed parts stay resident: the process then
// holds far more than the budget counts. Called once at start by absd and absctl.
void UseMmapForLargeBuffers();

}  // namespace absvc
