// Restore planning: from a restore request to the backups it applies, in order, each
// planned (and a damaged or unfinished one refused) before the first record is written.
// Reads the storage only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backupset/metadata.h"
#include "config/config.h"
#include "jobs/job.h"
#include "restore/restore_job.h"
#include "storage/storage.h"

namespace absvc::service {

struct PlannedRestoreStep {
  std::string dir;  // the backup directory
  restore::RestoreOptions options;
  restore::RestorePlan plan;
};

struct RestoreJobPlan {
  std::vector<PlannedRestoreStep> steps;  // in the order they are applied
  uint64_t total_records = 0;             // what the backups' metadata.yaml promise
};

// The engine's options for restoring one backup directory. The codec is as the policy
// says, else as the backup's metadata.yaml says.
Result<restore::RestoreOptions> RestoreOptionsFor(
    const RestorePolicyConfig& policy, const std::string& dir,
    const std::map<std::string, backupset::BackupMetadata>& metadata);

// The backup directories to apply, in groups applied one after the other. Full and
// incremental restores: every backup below backup-data-path, finished or not (an
// unfinished one must fail the plan or be salvaged, not vanish unnoticed). Timestamp
// restores: per namespace, the routine's last full backup of `routine_slice` at or before
// the time, then its incrementals after it up to the time, oldest first.
Result<std::vector<std::vector<std::string>>> RestoreDirectories(storage::Storage& storage,
                                                                 jobs::JobType kind,
                                                                 const RestoreRequest& request,
                                                                 const std::string& routine_slice);

// RestoreDirectories, then every directory planned; what the plans say is added to
// `notes`. `total_records` is set as soon as the metadata is read, before planning.
Result<RestoreJobPlan> PlanRestoreJob(storage::Storage& storage, jobs::JobType kind,
                                      const RestoreRequest& request,
                                      const std::string& routine_slice,
                                      restore::RestoreNotes& notes,
                                      std::atomic<uint64_t>* total_records = nullptr);

}  // namespace absvc::service
