// Which node holds which partition of a namespace: a master and replicas per partition.
// Each partition ranks the live nodes by a hash of (node, partition), as the real
// server's succession list does, so a node loss moves only that node's partitions.
// Masters are then capped at ceil(4096 / nodes) per node so they spread evenly, and
// replicas go to other racks first when racks are configured.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "wire/digest.h"

namespace absvc::devcluster {

inline constexpr int kMaxReplicas = 8;

struct NodePlacement {
  int index = 0;         // the node's index in the cluster
  uint64_t id_hash = 0;  // stable per node
  uint32_t rack = 0;
};

struct PartitionOwners {
  std::array<int8_t, kMaxReplicas> nodes{};  // node indices; [0] = master
  uint8_t count = 0;
};

class PartitionMap {
 public:
  PartitionMap() : owners_(wire::kPartitionCount) {}

  // `nodes` are the live nodes; an empty list gives a map where nobody owns anything.
  static PartitionMap Compute(const std::vector<NodePlacement>& nodes, uint32_t replication_factor);

  const PartitionOwners& owners(uint32_t pid) const { return owners_[pid]; }
  int Master(uint32_t pid) const { return owners_[pid].count ? owners_[pid].nodes[0] : -1; }
  // 0 for master, 1.. for replicas, -1 when the node holds no copy.
  int ReplicaIndex(uint32_t pid, int node) const;
  uint32_t effective_replication_factor() const { return effective_rf_; }

 private:
  std::vector<PartitionOwners> owners_;
  uint32_t effective_rf_ = 1;
};

}  // namespace absvc::devcluster
