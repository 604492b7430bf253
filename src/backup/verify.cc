#include "backup/verify.h"

#include <map>
#include <set>

#include "backupset/metadata.h"
#include "storage/layers.h"

namespace absvc::backup {

// The backup set's format, as this engine writes it.
using backupset::kManifestFile;
using backupset::kMetadataFile;
using backupset::kPartitions;
using backupset::kStartFile;
using backupset::ParseManifestJson;
using backupset::PartitionSet;
namespace {

using storage::BaseName;
using storage::JoinPath;

}  // namespace

VerifyVerdict VerifyReport::Verdict() const {
  if (namespaces.empty() && problems.empty()) return VerifyVerdict::kNothing;
  if (!problems.empty() || !empty_locations.empty()) return VerifyVerdict::kIncomplete;
  bool overlaps = false;
  for (const auto& [ns, c] : namespaces) {
    if (c.covered.Count() != kPartitions) return VerifyVerdict::kIncomplete;
    overlaps = overlaps || !c.overlapping.empty();
  }
  return overlaps ? VerifyVerdict::kOverlapping : VerifyVerdict::kComplete;
}

std::string VerifyReport::Format() const {
  std::string out;
  for (const auto& p : problems)
    out += "problem: " + p + "\n";
  for (const auto& where : empty_locations)
    out += "problem: " + where + ": no backup with a manifest is there\n";
  for (const auto& [ns, c] : namespaces) {
    out += "namespace " + ns + ": " + std::to_string(c.backups) + " backup(s), " +
           std::to_string(c.records) + " records, " + std::to_string(c.covered.Count()) +
           " of 4096 partitions covered\n";
    PartitionSet gaps = c.covered.Complement();
    if (!gaps.empty()) out += "  gaps (start-count): " + gaps.ToList() + "\n";
    if (!c.overlapping.empty()) out += "  overlaps (start-count): " + c.overlapping.ToList() + "\n";
  }
  switch (Verdict()) {
    case VerifyVerdict::kComplete:
      out += "verify: complete\n";
      break;
    case VerifyVerdict::kIncomplete:
      out += "verify: INCOMPLETE\n";
      break;
    case VerifyVerdict::kOverlapping:
      out += "verify: OVERLAPPING (every partition is covered, some more than once)\n";
      break;
    case VerifyVerdict::kNothing:
      out += "verify: nothing to verify: no backup with a manifest was found\n";
      break;
  }
  return out;
}

const char* VerdictName(VerifyVerdict verdict) {
  switch (verdict) {
    case VerifyVerdict::kComplete:
      return "complete";
    case VerifyVerdict::kIncomplete:
      return "incomplete";
    case VerifyVerdict::kOverlapping:
      return "overlapping";
    case VerifyVerdict::kNothing:
      break;
  }
  return "nothing";
}

Result<VerifyReport> Verify(const std::vector<VerifyLocation>& locations, VerifyDepth depth) {
  VerifyReport report;
  for (const auto& loc : locations) {
    const std::string location =
        loc.storage->Describe() + (loc.prefix.empty() ? "" : "/" + loc.prefix);
    std::vector<storage::ObjectInfo> listed;
    if (!loc.listing) {
      auto objects = loc.storage->List(loc.prefix);
      if (!objects.ok()) return objects.status().WithContext("verify: reading " + location);
      listed = std::move(objects).value();
    }
    const std::vector<storage::ObjectInfo>* objects = loc.listing ? loc.listing : &listed;
    std::map<std::string, uint64_t> sizes;
    for (const auto& obj : *objects)
      sizes[obj.path] = obj.size;
    // Per directory: what a backup there consists of.
    struct Directory {
      bool manifest = false, start_marker = false;
      std::set<std::string> asb_files;
    };
    std::map<std::string, Directory> dirs;
    for (const auto& obj : *objects) {
      std::string name = BaseName(obj.path);
      auto& d = dirs[storage::DirName(obj.path)];
      if (name == kManifestFile) d.manifest = true;
      if (name == kStartFile) d.start_marker = true;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".asb") == 0)
        d.asb_files.insert(name);
    }
    bool found = false;
    for (const auto& [dir, d] : dirs) {
      found = found || d.manifest || d.start_marker;
      std::string where = loc.storage->Describe() + (dir.empty() ? "" : "/" + dir);
      if (!d.manifest) {
        if (d.start_marker) {
          report.problems.push_back(where + ": the backup did not finish (no manifest)");
          report.backups.push_back({dir, BaseName(dir), false, {}, 0});
        } else if (!d.asb_files.empty()) {
          // .asb files in a folder inside an abs backup belong to no manifest: restore
          // never reads them, and verify says they are there.
          for (const auto& [other, od] : dirs) {
            if (od.manifest && (other.empty() || dir.rfind(other + "/", 0) == 0)) {
              report.problems.push_back(where + ": " + std::to_string(d.asb_files.size()) +
                                        " .asb files inside the backup " + other +
                                        " that its manifest does not list");
              break;
            }
          }
        }
        continue;
      }
      auto text = loc.storage->ReadAll(JoinPath(dir, kManifestFile));
      if (!text.ok()) {
        report.problems.push_back(where + ": " + text.status().message());
        continue;
      }
      auto manifest = ParseManifestJson(*text);
      if (!manifest.ok()) {
        report.problems.push_back(where + ": " + manifest.status().message());
        continue;
      }
      if (!sizes.count(JoinPath(dir, kMetadataFile))) {
        report.problems.push_back(where + ": no metadata.yaml, the backup did not finish");
      } else {
        auto meta = loc.storage->ReadAll(JoinPath(dir, kMetadataFile));
        if (!meta.ok()) {
          report.problems.push_back(where + ": " + meta.status().message());
        } else {
          for (auto& p : backupset::CheckDescriptions(*text, *manifest, &*meta))
            report.problems.push_back(where + ": " + p);
        }
      }
      std::set<std::string> stray = d.asb_files;
      for (const auto& f : manifest->files) {
        stray.erase(f.name);
        std::string path = JoinPath(dir, f.name);
        auto listed_size = sizes.find(path);
        if (listed_size == sizes.end()) {
          report.problems.push_back(where + ": file " + f.name + " is missing");
          continue;
        }
        if (listed_size->second != f.size) {
          report.problems.push_back(where + ": file " + f.name + " is " +
                                    std::to_string(listed_size->second) +
                                    " bytes, the manifest says " + std::to_string(f.size));
          continue;
        }
        if (depth == VerifyDepth::kManifests) continue;
        auto sha = storage::Sha256OfObject(*loc.storage, path);
        if (!sha.ok()) {
          report.problems.push_back(where + ": file " + f.name + ": " + sha.status().message());
        } else if (*sha != f.sha256) {
          report.problems.push_back(where + ": file " + f.name + " does not match its SHA-256");
        }
      }
      // A file the manifest does not list is not part of the backup: restore ignores it,
      // and verify says it is there.
      for (const auto& name : stray) {
        report.problems.push_back(where + ": file " + name + " is not listed in the manifest");
      }
      auto& c = report.namespaces[manifest->ns];
      c.overlapping = c.overlapping | (c.covered & manifest->partitions);
      c.covered = c.covered | manifest->partitions;
      c.records += manifest->record_count;
      ++c.backups;
      report.backups.push_back(
          {dir, manifest->ns, true, manifest->partitions, manifest->record_count});
    }
    if (!found) report.empty_locations.push_back(location);
  }
  return report;
}

}  // namespace absvc::backup
