#include "backupset/partition_set.h"

#include <charconv>

#include "wire/digest.h"
#include "wire/info.h"

namespace absvc::backupset {

PartitionSet PartitionSet::All() {
  PartitionSet s;
  s.bits_.set();
  return s;
}

namespace {

bool ParseNumber(std::string_view s, uint32_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<PartitionSet> PartitionSet::ParseList(std::string_view text) {
  PartitionSet s;
  if (text.empty()) return Status::InvalidArgument("partition-list is empty");
  for (std::string_view item : wire::SplitUserList(text, ',')) {
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("partition-list entry '" + std::string(item) + "' " + why);
    };
    uint32_t first = 0, count = 1;
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!ParseNumber(item, &first)) return bad("is not a partition id or start-count");
    } else if (!ParseNumber(item.substr(0, dash), &first) ||
               !ParseNumber(item.substr(dash + 1), &count)) {
      return bad("is not a partition id or start-count");
    }
    if (first >= kPartitions) return bad("starts beyond partition 4095");
    if (count < 1) return bad("has a count below 1");
    if (count > kPartitions - first) return bad("runs beyond partition 4095");
    for (uint32_t p = first; p < first + count; ++p) {
      if (s.Contains(p)) return bad("overlaps an earlier entry at partition " + std::to_string(p));
      s.Add(p);
    }
  }
  return s;
}

PartitionSet PartitionSet::SliceOf(uint32_t index, uint32_t count) {
  PartitionSet out;
  if (count == 0 || count > wire::kPartitionCount || index >= count) return out;
  const uint64_t n = wire::kPartitionCount;
  for (uint64_t pid = index * n / count; pid < (index + 1ull) * n / count; ++pid)
    out.Add(static_cast<uint32_t>(pid));
  return out;
}

std::string PartitionSet::ToList() const {
  std::string out;
  for (auto [first, count] : Ranges()) {
    if (!out.empty()) out += ",";
    out += count == 1 ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(count);
  }
  return out;
}

std::vector<uint32_t> PartitionSet::Ids() const {
  std::vector<uint32_t> ids;
  for (uint32_t p = 0; p < kPartitions; ++p) {
    if (bits_.test(p)) ids.push_back(p);
  }
  return ids;
}

std::vector<std::pair<uint32_t, uint32_t>> PartitionSet::Ranges() const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  uint32_t p = 0;
  while (p < kPartitions) {
    if (!bits_.test(p)) {
      ++p;
      continue;
    }
    uint32_t first = p;
    while (p < kPartitions && bits_.test(p))
      ++p;
    out.emplace_back(first, p - first);
  }
  return out;
}

std::vector<PartitionSet> PartitionSet::Split(size_t n) const {
  std::vector<uint32_t> ids = Ids();
  n = std::max<size_t>(1, std::min(n, ids.size()));
  std::vector<PartitionSet> groups(ids.empty() ? 0 : n);
  for (size_t g = 0; g < groups.size(); ++g) {
    size_t begin = ids.size() * g / n, end = ids.size() * (g + 1) / n;
    for (size_t i = begin; i < end; ++i)
      groups[g].Add(ids[i]);
  }
  return groups;
}

PartitionSet PartitionSet::operator|(const PartitionSet& o) const {
  PartitionSet s;
  s.bits_ = bits_ | o.bits_;
  return s;
}

PartitionSet PartitionSet::operator&(const PartitionSet& o) const {
  PartitionSet s;
  s.bits_ = bits_ & o.bits_;
  return s;
}

PartitionSet PartitionSet::Complement() const {
  PartitionSet s;
  s.bits_ = ~bits_;
  return s;
}

}  // namespace absvc::backupset
