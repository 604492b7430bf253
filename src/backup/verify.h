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
  // The objects under prefix when the caller has listed them already; else listed here.
  const std::vector<storage::ObjectInfo>* listing = nullptr;
};

// How far verify reads: kContents hashes every file against its manifest; kManifests
// trusts the files' contents and checks only their presence and sizes from the listing
// (what the dashboard's coverage map can afford on every refresh).
enum class VerifyDepth { kContents, kManifests };

// One backup directory found: a namespace's data directory with its manifest, or one
// whose run has not finished (a start marker, no manifest yet).
struct FoundBackup {
  std::string directory;  // storage path, relative to its root
  std::string ns;         // from the manifest, or the directory name while unfinished
  bool finished = false;
  backupset::PartitionSet partitions;
  uint64_t records = 0;
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
  std::vector<FoundBackup> backups;
  VerifyVerdict Verdict() const;
  bool complete() const { return Verdict() == VerifyVerdict::kComplete; }
  std::string Format() const;
};

Result<VerifyReport> Verify(const std::vector<VerifyLocation>& locations,
                            VerifyDepth depth = VerifyDepth::kContents);

// "complete", "incomplete", "overlapping" or "nothing".
const char* VerdictName(VerifyVerdict verdict);

}  // namespace absvc::backup
