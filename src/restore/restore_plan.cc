#include "restore/restore_plan.h"

#include <map>
#include <optional>
#include <set>

#include "backupset/checkpoint.h"
#include "backupset/metadata.h"
#include "storage/layers.h"

namespace absvc::restore {
namespace {

// One directory of the restore's input: a backup, finished or not, ours or foreign.
struct BackupDirectory {
  std::vector<storage::ObjectInfo> asb_files;
  std::vector<storage::ObjectInfo> empty_asb_files;  // 0 bytes: named when a manifest lists them
  bool manifest = false;
  bool metadata = false;
  bool start_marker = false;
  bool checkpoint = false;  // abs-checkpoint.json: an unfinished backup's complete files
  bool run_claim = false;   // abs-run.json: the top of an abs run
};

using storage::BaseName;
using storage::DirName;
using storage::JoinPath;

bool IsAsb(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".asb") == 0;
}

bool IsDefinitions(const std::string& path) {
  return BaseName(path).rfind("metadata_", 0) == 0;
}

// A file with no record of its own (written by asbackup or ABS, or unchecked).
PlannedFile Planned(const storage::ObjectInfo& object) {
  PlannedFile f;
  f.object = object;
  f.definitions = IsDefinitions(object.path);
  return f;
}

// A file as a manifest or checkpoint records it: its digests and, when known, its records.
PlannedFile Planned(const storage::ObjectInfo& object, const backupset::BackupFile& recorded,
                    bool records_known) {
  PlannedFile f = Planned(object);
  f.sha256 = recorded.sha256;
  f.records = records_known ? static_cast<int64_t>(recorded.records) : -1;
  f.block_size = recorded.block_size;
  f.block_sha256 = recorded.block_sha256;
  return f;
}

// An abs backup that did not finish, with its checkpoint: the files the checkpoint names
// are complete and carry their SHA-256 and record counts, so a salvage restores exactly
// those (each hashed before any record is written); it leaves out, and lists, the files
// written after the last checkpoint (partial) and the partitions that did not finish,
// with an estimate of their records.
void PlanUnfinished(storage::Storage& storage, const std::string& dir, const BackupDirectory& d,
                    bool salvage, RestorePlan& plan, std::vector<std::string>& problems) {
  const std::string where = storage.Describe() + (dir.empty() ? "" : "/" + dir);
  auto text = storage.ReadAll(JoinPath(dir, backupset::kCheckpointFile));
  auto checkpoint =
      text.ok() ? backupset::ParseCheckpoint(*text) : Result<backupset::Checkpoint>(text.status());
  problems.push_back(where + ": the backup did not finish (no manifest)");
  if (!checkpoint.ok()) {
    problems.push_back(where + ": its checkpoint cannot be read (" + checkpoint.status().message() +
                       ")");
    if (salvage) {
      plan.skipped.push_back(where + ": unfinished, and its checkpoint cannot be read (" +
                             checkpoint.status().message() + "): nothing of it is restored");
    }
    return;
  }
  if (!salvage) return;
  std::map<std::string, const storage::ObjectInfo*> present;
  for (const auto& f : d.asb_files)
    present[BaseName(f.path)] = &f;
  size_t planned = 0;
  for (const auto& f : checkpoint->files) {
    auto it = present.find(f.name);
    if (it == present.end() || it->second->size != f.size) {
      plan.skipped.push_back(where + ": file " + f.name +
                             (it == present.end()
                                  ? " is missing"
                                  : " is " + std::to_string(it->second->size) +
                                        " bytes, the checkpoint says " + std::to_string(f.size)));
      if (it != present.end()) present.erase(it);
      continue;
    }
    plan.files.push_back(Planned(*it->second, f, /*records_known=*/true));
    present.erase(it);
    ++planned;
  }
  for (const auto& [name, object] : present) {
    plan.skipped.push_back(where + ": file " + name +
                           " is partial (written after the last checkpoint)");
  }
  uint64_t done_records = 0, done = 0, started_records = 0;
  backupset::PartitionSet finished;
  for (const auto& p : checkpoint->progress) {
    if (p.done) {
      finished.Add(p.pid);
      done_records += p.records;
      ++done;
    } else {
      started_records += p.records;
    }
  }
  const backupset::PartitionSet unfinished = checkpoint->partitions & finished.Complement();
  if (unfinished.Count() > 0) {
    // Partitions hold about the same number of records: those that finished say how
    // many; what the unfinished ones already wrote is in the complete files.
    std::string estimate = "an unknown number";
    if (done > 0) {
      const uint64_t expected = static_cast<uint64_t>(static_cast<double>(done_records) *
                                                      static_cast<double>(unfinished.Count()) /
                                                      static_cast<double>(done));
      estimate =
          "about " + std::to_string(expected > started_records ? expected - started_records : 0);
    }
    plan.skipped.push_back(where + ": " + std::to_string(unfinished.Count()) +
                           " partitions did not finish (" + unfinished.ToList() + "): " + estimate +
                           " of their records are not in the backup");
  }
  plan.warnings.push_back(where + ": the backup did not finish; salvage restores the " +
                          std::to_string(planned) + " complete files its checkpoint names");
}

// Plans one directory. `problems` collects what a strict restore refuses; a salvage
// records the same facts as skipped (what it leaves out) or as warnings (what it restores
// although a strict restore would not).
void PlanDirectory(storage::Storage& storage, const std::string& dir, const BackupDirectory& d,
                   bool salvage, RestorePlan& plan, std::vector<std::string>& problems) {
  const std::string where = storage.Describe() + (dir.empty() ? "" : "/" + dir);
  const size_t problems_before = problems.size();
  auto left_out = [&](std::string what) {
    problems.push_back(what);
    if (salvage) plan.skipped.push_back(std::move(what));
  };
  auto restored_anyway = [&](std::string what) {
    problems.push_back(what);
    if (salvage) plan.warnings.push_back(std::move(what) + "; salvage restores it");
  };
  if (d.manifest) {
    auto text = storage.ReadAll(JoinPath(dir, backupset::kManifestFile));
    auto manifest = text.ok() ? backupset::ParseManifestJson(*text)
                              : Result<backupset::Manifest>(text.status());
    if (!manifest.ok()) {
      left_out(where + ": its manifest cannot be read (" + manifest.status().message() + ")");
      return;
    }
    if (!d.metadata) {
      restored_anyway(where + ": the backup did not finish (a manifest but no metadata.yaml)");
    }
    // The two descriptions must add up (and, when sealed, be the ones the backup wrote).
    std::optional<std::string> metadata_text;
    if (d.metadata) {
      auto meta = storage.ReadAll(JoinPath(dir, backupset::kMetadataFile));
      if (!meta.ok()) {
        left_out(where + ": its metadata.yaml cannot be read (" + meta.status().message() + ")");
        return;
      }
      metadata_text = std::move(meta).value();
    }
    for (auto& p : backupset::CheckDescriptions(*text, *manifest,
                                                metadata_text ? &*metadata_text : nullptr)) {
      restored_anyway(where + ": " + p);
    }
    std::map<std::string, const storage::ObjectInfo*> present;
    for (const auto& f : d.asb_files)
      present[BaseName(f.path)] = &f;
    for (const auto& f : d.empty_asb_files)  // a truncated file is there, only empty
      present[BaseName(f.path)] = &f;
    std::vector<PlannedFile> files;
    for (const auto& listed : manifest->files) {
      auto it = present.find(listed.name);
      if (it == present.end()) {
        left_out(where + ": file " + listed.name + " is listed in the manifest but missing");
        continue;
      }
      if (it->second->size != listed.size) {
        left_out(where + ": file " + listed.name + " is " + std::to_string(it->second->size) +
                 " bytes, the manifest says " + std::to_string(listed.size));
        continue;
      }
      files.push_back(Planned(*it->second, listed, manifest->file_records_known));
      present.erase(it);
    }
    for (const auto& [name, object] : present) {
      plan.warnings.push_back(where + ": ignoring " + name +
                              ": the backup's manifest does not list it");
    }
    plan.files.insert(plan.files.end(), files.begin(), files.end());
    if (problems.size() == problems_before) plan.manifest_records += manifest->record_count;
    return;
  }
  if (d.start_marker) {
    if (d.checkpoint) return PlanUnfinished(storage, dir, d, salvage, plan, problems);
    restored_anyway(where + ": the backup did not finish (abs started it, and it has no " +
                    "manifest nor checkpoint); its " + std::to_string(d.asb_files.size()) +
                    " files cannot be checked");
    for (const auto& f : d.asb_files)
      plan.files.push_back(Planned(f));
    return;
  }
  plan.warnings.push_back(where + ": no abs manifest (written by asbackup or ABS?): its " +
                          std::to_string(d.asb_files.size()) +
                          " files are restored without checksum checks");
  for (const auto& f : d.asb_files)
    plan.files.push_back(Planned(f));
}

}  // namespace

Result<RestorePlan> PlanRestore(storage::Storage& storage,
                                const std::vector<std::string>& directories, bool salvage) {
  RestorePlan plan;
  std::vector<std::string> problems;
  for (const auto& root : directories) {
    ABS_ASSIGN_OR_RETURN(auto objects, storage.List(root));
    std::map<std::string, BackupDirectory> dirs;
    for (const auto& obj : objects) {
      std::string name = BaseName(obj.path);
      if (name == backupset::kManifestFile) {
        dirs[DirName(obj.path)].manifest = true;
      } else if (name == backupset::kMetadataFile) {
        dirs[DirName(obj.path)].metadata = true;
      } else if (name == backupset::kStartFile) {
        dirs[DirName(obj.path)].start_marker = true;
      } else if (name == backupset::kCheckpointFile) {
        dirs[DirName(obj.path)].checkpoint = true;
      } else if (name == "abs-run.json") {
        dirs[DirName(obj.path)].run_claim = true;
      } else if (IsAsb(obj.path)) {
        auto& d = dirs[DirName(obj.path)];
        (obj.size > 0 ? d.asb_files : d.empty_asb_files).push_back(obj);
      }
    }
    // Folders inside an abs backup or run (a manifest, a start marker or a run claim
    // above them) that have none of their own: what they hold belongs to no manifest.
    auto abs_backup_above = [&](const std::string& dir) -> std::optional<std::string> {
      for (const auto& [other, od] : dirs) {
        if (other == dir || !(od.manifest || od.start_marker || od.run_claim)) continue;
        if (other.empty() || dir.rfind(other + "/", 0) == 0) return other;
      }
      return std::nullopt;
    };
    bool any = false;
    for (const auto& [dir, d] : dirs) {
      if (d.asb_files.empty() && !d.manifest && !d.start_marker) {
        // A backup that found nothing (an incremental with no change, as ABS writes it:
        // metadata.yaml alone, record-count 0) is a backup to restore, with no files.
        if (d.metadata) {
          auto text = storage.ReadAll(dir + (dir.empty() ? "" : "/") + backupset::kMetadataFile);
          auto meta = text.ok() ? backupset::ParseMetadataYaml(*text)
                                : Result<backupset::BackupMetadata>(text.status());
          if (meta.ok() && meta->record_count == 0) any = true;
        }
        continue;
      }
      any = true;
      if (!d.manifest && !d.start_marker) {
        auto above = d.run_claim ? std::optional<std::string>(dir) : abs_backup_above(dir);
        if (above) {
          plan.warnings.push_back(
              storage.Describe() + "/" + dir + ": ignoring " + std::to_string(d.asb_files.size()) +
              " .asb files inside the abs backup '" + *above + "' that no manifest lists");
          continue;
        }
      }
      PlanDirectory(storage, dir, d, salvage, plan, problems);
    }
    if (!any) {
      return Status::NotFound("no backup (.asb files) in " + storage.Describe() +
                              (root.empty() ? "" : "/" + root));
    }
  }
  if (!problems.empty() && !salvage) {
    std::string msg = "refusing to restore: ";
    const size_t shown = std::min<size_t>(problems.size(), 20);
    for (size_t i = 0; i < shown; ++i)
      msg += (i ? "; " : "") + problems[i];
    if (problems.size() > shown)
      msg += "; and " + std::to_string(problems.size() - shown) + " more";
    msg += ". Nothing was written; salvage restores what is intact";
    return Status::Corrupt(msg);
  }
  if (salvage) {
    // A damaged file must be left out before any of its records reach the cluster.
    std::vector<PlannedFile> intact;
    for (auto& f : plan.files) {
      if (!f.sha256.empty()) {
        auto sha = storage::Sha256OfObject(storage, f.object.path);
        if (!sha.ok()) {
          plan.skipped.push_back(storage.Describe() + "/" + f.object.path + ": cannot be read (" +
                                 sha.status().message() + ")");
          continue;
        }
        if (*sha != f.sha256) {
          plan.skipped.push_back(storage.Describe() + "/" + f.object.path +
                                 ": does not match its recorded SHA-256 (damaged)");
          continue;
        }
      }
      intact.push_back(std::move(f));
    }
    plan.files = std::move(intact);
  }
  return plan;
}

}  // namespace absvc::restore
