// The cluster as a client sees it: nodes found from the seeds and their peers, a tend
// thread that notices node loss and arrival and partition-map changes, and the partition
// table that routes each partition to its current master (or preferred-rack replica).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/node.h"
#include "client/options.h"
#include "common/status.h"
#include "wire/digest.h"

namespace absvc::client {

inline constexpr int kMaxReplicasTracked = 3;

// Who holds each partition of each namespace, from the nodes' `replicas` answers.
struct PartitionTable {
  struct Owners {
    std::array<std::shared_ptr<Node>, kMaxReplicasTracked> replicas;  // [0] = master
    std::array<uint32_t, kMaxReplicasTracked> racks{};                // rack of each replica's node
  };
  std::map<std::string, std::vector<Owners>, std::less<>> namespaces;

  // The node to read partition `pid` from: the master, or with `prefer_racks` the first
  // replica on a preferred rack. Null when no live node holds it.
  std::shared_ptr<Node> ReadNode(std::string_view ns, uint32_t pid,
                                 const std::vector<uint32_t>& prefer_racks) const;
  std::shared_ptr<Node> Master(std::string_view ns, uint32_t pid) const;
};

class Cluster {
 public:
  explicit Cluster(ClientOptions options);
  ~Cluster();

  // Connects the seeds, discovers peers, loads the partition table and starts tending.
  Status Connect();
  void Close();

  const ClientOptions& options() const { return options_; }
  std::vector<std::shared_ptr<Node>> Nodes() const;
  std::shared_ptr<Node> FindNode(std::string_view name) const;
  std::shared_ptr<const PartitionTable> partitions() const;

  // Runs one tend round now (tests and callers that need fresh state).
  Status TendNow();
  uint64_t tend_count() const { return tend_count_.load(); }

 private:
  Status SeedNodes();
  Status Tend();
  void TendLoop();
  Result<std::shared_ptr<Node>> AddNode(const Host& host, const std::string& expected_name);
  void RebuildPartitionTable();

  ClientOptions options_;
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<Session> session_;

  mutable std::mutex mu_;  // guards nodes_ and table_
  std::vector<std::shared_ptr<Node>> nodes_;
  std::shared_ptr<const PartitionTable> table_;

  std::mutex tend_mu_;  // one tend at a time
  std::thread tend_thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::atomic<uint64_t> tend_count_{0};
};

}  // namespace absvc::client
