#include "devcluster/namespace_store.h"

namespace absvc::devcluster {

uint64_t NamespaceStore::CountLive(uint32_t pid, uint32_t now) const {
  const auto& p = partitions_[pid];
  std::shared_lock lock(p.mu);
  uint64_t n = 0;
  for (const auto& [d, r] : p.records) {
    if (!r.ExpiredAt(now)) ++n;
  }
  return n;
}

std::vector<NamespaceStore::SetStats> NamespaceStore::Sets(uint32_t now) const {
  std::map<std::string, SetStats> sets;
  for (const auto& p : partitions_) {
    std::shared_lock lock(p.mu);
    for (const auto& [d, r] : p.records) {
      if (r.set.empty() || r.ExpiredAt(now)) continue;
      auto& s = sets[r.set];
      s.name = r.set;
      ++s.objects;
      s.data_bytes += r.bins.size() + r.key.size() + 64;
    }
  }
  {
    std::lock_guard lock(sets_mu_);
    for (const auto& [name, lut] : set_truncate_luts_) {
      auto& s = sets[name];
      s.name = name;
      s.truncate_lut = lut;
    }
  }
  std::vector<SetStats> out;
  for (auto& [name, s] : sets)
    out.push_back(std::move(s));
  return out;
}

uint64_t NamespaceStore::Truncate(const std::string& set, uint64_t lut_ms) {
  if (set.empty()) {
    truncate_lut_.store(lut_ms);
  } else {
    std::lock_guard lock(sets_mu_);
    set_truncate_luts_[set] = lut_ms;
  }
  uint64_t deleted = 0;
  for (auto& p : partitions_) {
    std::unique_lock lock(p.mu);
    for (auto it = p.records.begin(); it != p.records.end();) {
      if ((set.empty() || it->second.set == set) && it->second.lut_ms < lut_ms) {
        it = p.records.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
  }
  return deleted;
}

uint64_t NamespaceStore::SetTruncateLut(const std::string& set) const {
  std::lock_guard lock(sets_mu_);
  auto it = set_truncate_luts_.find(set);
  return it == set_truncate_luts_.end() ? 0 : it->second;
}

}  // namespace absvc::devcluster
