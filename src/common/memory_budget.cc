#include "common/memory_budget.h"

#include <malloc.h>

#include <algorithm>

namespace absvc {

MemoryBudget::Lease& MemoryBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::move(other.budget_);
    bytes_ = std::exchange(other.bytes_, 0);
    reserved_ = other.reserved_;
  }
  return *this;
}

void MemoryBudget::Lease::Release() {
  if (budget_) budget_->GiveBack(bytes_, reserved_);
  budget_.reset();
  bytes_ = 0;
}

std::shared_ptr<MemoryBudget> MemoryBudget::Create(uint64_t limit_bytes) {
  return std::shared_ptr<MemoryBudget>(new MemoryBudget(limit_bytes));
}

bool MemoryBudget::FitsLocked(uint64_t bytes) const {
  // With nothing reserved, one reservation always goes (else a request larger than the
  // limit, or memory charged by others, could hold it back for ever).
  return reserved_ == 0 || in_use_ + bytes <= limit_;
}

void MemoryBudget::AddLocked(uint64_t bytes, bool reserved) {
  in_use_ += bytes;
  if (reserved) reserved_ += bytes;
  counts_.peak = std::max(counts_.peak, in_use_);
}

void MemoryBudget::GiveBack(uint64_t bytes, bool reserved) {
  {
    std::lock_guard lock(mu_);
    in_use_ -= bytes;
    if (reserved) reserved_ -= bytes;
  }
  changed_.notify_all();
}

Result<MemoryBudget::Lease> MemoryBudget::Reserve(uint64_t bytes, const CancelLink* cancel,
                                                  std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (queue_.empty() && FitsLocked(bytes)) {
    AddLocked(bytes, true);
    return Lease(shared_from_this(), bytes, true);
  }
  const uint64_t ticket = next_ticket_++;
  queue_.push_back(ticket);
  ++counts_.waits;
  auto leave = [&] {
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    lock.unlock();
    changed_.notify_all();  // the next in line may fit now
  };
  while (true) {
    if (queue_.front() == ticket && FitsLocked(bytes)) {
      AddLocked(bytes, true);
      leave();
      return Lease(shared_from_this(), bytes, true);
    }
    if (cancel && cancel->cancelled()) {
      const uint64_t limit = limit_;  // read under the lock that leave() gives up
      leave();
      return Status::Cancelled("cancelled while waiting for memory (" + std::to_string(bytes) +
                               " bytes; the memory budget is " + std::to_string(limit) + ")");
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      const uint64_t in_use = in_use_, limit = limit_;  // under the lock leave() gives up
      leave();
      return Status::Timeout("no memory for " + std::to_string(bytes) + " bytes within the wait (" +
                             std::to_string(in_use) + " of the budget's " + std::to_string(limit) +
                             " bytes in use)");
    }
    // Cancellation is a flag, not a notification: it is looked at every 20 ms.
    changed_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                                deadline - now, std::chrono::milliseconds(20)));
  }
}

std::optional<MemoryBudget::Lease> MemoryBudget::TryReserve(uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (!queue_.empty() || in_use_ + bytes > limit_) return std::nullopt;
  AddLocked(bytes, true);
  return Lease(shared_from_this(), bytes, true);
}

MemoryBudget::Lease MemoryBudget::Charge(uint64_t bytes) {
  std::lock_guard lock(mu_);
  AddLocked(bytes, false);
  return Lease(shared_from_this(), bytes, false);
}

uint64_t MemoryBudget::limit() const {
  std::lock_guard lock(mu_);
  return limit_;
}

uint64_t MemoryBudget::room() const {
  std::lock_guard lock(mu_);
  return in_use_ < limit_ ? limit_ - in_use_ : 0;
}

void MemoryBudget::set_limit(uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    limit_ = bytes;
  }
  changed_.notify_all();
}

MemoryBudget::Counts MemoryBudget::counts() const {
  std::lock_guard lock(mu_);
  Counts c = counts_;
  c.in_use = in_use_;
  c.waiting = queue_.size();
  return c;
}

void UseMmapForLargeBuffers() {
  (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

std::shared_ptr<MemoryBudget> ProcessMemoryBudget() {
  // Never destroyed: leases held by threads still running at exit stay valid.
  static auto* budget =
      new std::shared_ptr<MemoryBudget>(MemoryBudget::Create(kDefaultMemoryBudgetBytes));
  return *budget;
}

}  // namespace absvc
