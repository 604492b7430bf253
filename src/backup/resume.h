// The backup engine's resume stage: what a resumable backup finds in its directory, and
// clearing what a checkpoint does not vouch for. Internal to the engine.
#pragma once

#include <optional>
#include <string>

#include "backup/backup_job.h"
#include "backupset/checkpoint.h"
#include "storage/storage.h"

namespace absvc::backup {

// What a resumable backup finds in its directory.
struct Resume {
  std::optional<backupset::Checkpoint> checkpoint;  // usable: resume from it
  std::string start_over_because;                   // else, when there is something to start over
};

// Reads the directory's start file and checkpoint. A storage failure is an error (the
// attempt fails and the work on storage stays); anything unusable is a reason to start
// over. A finished backup is kConflict.
Result<Resume> FindResume(storage::Storage& storage, const BackupOptions& o,
                          const std::string& fingerprint);

}  // namespace absvc::backup
