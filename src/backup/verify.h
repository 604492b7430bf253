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

struct VerifyReport {
  std::vector<std::string> problems;  // files missing, resized, altered; incomplete backups
  std::map<std::string, NamespaceCoverage> namespaces;
  bool complete() const;  // no problems, no gaps, no overlaps
  std::string Format() const;
};

Result<VerifyReport> Verify(const std::vector<VerifyLocation>& locations);

}  // namespace absvc::backup
