// max-concurrent-nodes: at most `limit` distinct nodes under scan at once, across every
// scan that shares the gate (the workers of one backup). Scans of a node already under
// scan share its place, so workers that reach the same node together go on together.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace absvc::client {

class NodeGate {
 public:
  explicit NodeGate(size_t limit) : limit_(limit == 0 ? 1 : limit) {}

  // Waits until `node` is under scan already or a place is free, then takes it.
  void Enter(const std::string& node) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return active_.count(node) > 0 || active_.size() < limit_; });
    ++active_[node];
    peak_ = std::max(peak_, active_.size());
  }
  void Leave(const std::string& node) {
    std::lock_guard lock(mu_);
    auto it = active_.find(node);
    if (it == active_.end()) return;
    if (--it->second == 0) {
      active_.erase(it);
      cv_.notify_all();
    }
  }
  // The most distinct nodes under scan at once so far.
  size_t peak() const {
    std::lock_guard lock(mu_);
    return peak_;
  }

 private:
  const size_t limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> active_;  // node name -> scans of it in progress
  size_t peak_ = 0;
};

}  // namespace absvc::client
