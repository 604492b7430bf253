#include "devcluster/partition_map.h"

#include <algorithm>

namespace absvc::devcluster {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

int PartitionMap::ReplicaIndex(uint32_t pid, int node) const {
  const auto& o = owners_[pid];
  for (int i = 0; i < o.count; ++i) {
    if (o.nodes[static_cast<size_t>(i)] == node) return i;
  }
  return -1;
}

PartitionMap PartitionMap::Compute(const std::vector<NodePlacement>& nodes,
                                   uint32_t replication_factor) {
  PartitionMap map;
  if (nodes.empty()) return map;
  const size_t n = nodes.size();
  uint32_t rf = std::clamp<uint32_t>(replication_factor, 1, static_cast<uint32_t>(n));
  rf = std::min<uint32_t>(rf, kMaxReplicas);
  map.effective_rf_ = rf;
  const size_t master_cap = (wire::kPartitionCount + n - 1) / n;
  std::vector<size_t> master_count(n, 0);
  std::vector<size_t> order(n);
  std::vector<uint64_t> score(n);
  for (uint32_t pid = 0; pid < wire::kPartitionCount; ++pid) {
    for (size_t i = 0; i < n; ++i) {
      order[i] = i;
      score[i] = Mix(nodes[i].id_hash ^ (uint64_t{pid} * 0x100000001b3ull));
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
    // Master: the first node in succession that still has room.
    size_t master_pos = 0;
    while (master_count[order[master_pos]] >= master_cap)
      ++master_pos;
    std::rotate(order.begin(), order.begin() + static_cast<long>(master_pos),
                order.begin() + static_cast<long>(master_pos) + 1);
    ++master_count[order[0]];
    auto& owners = map.owners_[pid];
    std::vector<bool> taken(n, false);
    std::vector<uint32_t> racks_used;
    owners.nodes[0] = static_cast<int8_t>(nodes[order[0]].index);
    owners.count = 1;
    taken[order[0]] = true;
    racks_used.push_back(nodes[order[0]].rack);
    // Replicas: prefer a rack not used yet, then any node.
    for (int pass = 0; pass < 2 && owners.count < rf; ++pass) {
      for (size_t k = 1; k < n && owners.count < rf; ++k) {
        size_t i = order[k];
        if (taken[i]) continue;
        bool new_rack =
            std::find(racks_used.begin(), racks_used.end(), nodes[i].rack) == racks_used.end();
        if (pass == 0 && !new_rack) continue;
        owners.nodes[owners.count++] = static_cast<int8_t>(nodes[i].index);
        taken[i] = true;
        racks_used.push_back(nodes[i].rack);
      }
    }
  }
  return map;
}

}  // namespace absvc::devcluster
