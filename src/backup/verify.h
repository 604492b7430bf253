// verify: proves that one backup, or several backups taken in parallel, are intact and
// together cover every partition of each namespace exactly once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backupset/partition_set.h"
#include "storage/storage.h"

namespace absvc::backup {

struct VerifyLocation {
  storage::Storage* storage;
  std::string prefix;  // searched recursively for manifests
};

struct NamespaceCoverage {
  backupset::PartitionSet covered;
  backupset::PartitionSet overlapping;  // in more than one backup
  uint64_t records = 0;
  size_t backups = 0;
};

enum class VerifyVerdict {
  kComplete,     // no problems, no gaps, no overlaps
  kIncomplete,   // problems or gaps
  kOverlapping,  // every partition covered and nothing wrong, but some partitions twice
  kNothing,      // no backup anywhere it looked
};

struct VerifyReport {
  std::vector<std::string> problems;         // files missing, resized, altered; incomplete backups
  std::vector<std::string> empty_locations;  // places given that hold no backup
  std::map<std::string, NamespaceCoverage> namespaces;
  VerifyVerdict Verdict() const;
  bool complete() const { return Verdict() == VerifyVerdict::kComplete; }
  std::string Format() const;
};

Result<VerifyReport> Verify(const std::vector<VerifyLocation>& locations);

}  // namespace absvc::backup
