// PartitionSet: a subset of a namespace's 4096 partitions. Every slice kind resolves to
// one at job start, the manifest records it, and verify unions several to prove that a
// parallel backup set covers every partition exactly once.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace absvc::backupset {

inline constexpr uint32_t kPartitions = 4096;

class PartitionSet {
 public:
  static PartitionSet All();
  // ABS partition-list: comma-separated "ID" or "start-count" ("0,100-50" = 0 and
  // 100..149); 0 <= start <= 4095, count >= 1, start + count <= 4096, no overlaps.
  static Result<PartitionSet> ParseList(std::string_view text);
  // Slice `index` of `count` equal slices (auto-slice): the partitions
  // [index * 4096 / count, (index + 1) * 4096 / count). The slices 0..count-1 cover every
  // partition exactly once. Needs 1 <= count <= 4096 and index < count.
  static PartitionSet SliceOf(uint32_t index, uint32_t count);
  // Inverse of Ranges(): "start-count" entries, or "ID" for a single partition.
  std::string ToList() const;

  void Add(uint32_t pid) { bits_.set(pid); }
  bool Contains(uint32_t pid) const { return bits_.test(pid); }
  size_t Count() const { return bits_.count(); }
  bool empty() const { return bits_.none(); }
  std::vector<uint32_t> Ids() const;
  // Maximal runs as (start, count).
  std::vector<std::pair<uint32_t, uint32_t>> Ranges() const;
  // Splits into at most n groups of near-equal size, each a contiguous run of ids.
  std::vector<PartitionSet> Split(size_t n) const;

  PartitionSet operator|(const PartitionSet& o) const;
  PartitionSet operator&(const PartitionSet& o) const;
  PartitionSet Complement() const;
  bool operator==(const PartitionSet&) const = default;

 private:
  std::bitset<kPartitions> bits_;
};

}  // namespace absvc::backupset
