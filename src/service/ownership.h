// Who owns work in shared storage, and whether that owner still lives. Parallel absd
// instances share one storage (and may share one state directory): a run directory's claim
// (abs-run.json) and a routine's run lock name their owner and carry a heartbeat, so an
// instance removes or takes over only what belongs to a process that is provably gone. On
// this machine (same boot, same pid namespace) that is a pid that no longer runs, or runs
// another program; anywhere else, a heartbeat older than the lease.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "storage/storage.h"

namespace absvc::service {

struct Owner {
  std::string host;
  std::string boot_id;        // /proc/sys/kernel/random/boot_id
  std::string pid_namespace;  // /proc/self/ns/pid: containers on one machine differ
  int64_t pid = 0;
  uint64_t start_ticks = 0;  // the process's start time (/proc/<pid>/stat), against pid reuse

  static const Owner& Self();
  Json ToJson() const;
  static Owner FromJson(const Json& j);  // missing fields stay empty
  std::string Describe() const;          // "host H, pid P"
};

// True when the owner recorded in `record` ({"owner": {...}, "heartbeat-ms": N}, or the
// older {"host", "pid"}) is provably gone. A record that names no owner is gone only when
// `ownerless_is_gone`.
bool OwnerIsGone(const Json& record, int64_t now_ms, int64_t lease_ms,
                 bool ownerless_is_gone = false);

// A lock in shared storage: the folder `dir` holds <seq>.json files, and the highest live
// one holds the lock. Taking over from a gone owner creates seq+1 exclusively, so of two
// instances that find the same stale lock only one wins.
class RunLock {
 public:
  // kConflict naming the holder when a live owner holds it; `what` names the work
  // ("full backup of routine r1") in that message.
  static Result<std::unique_ptr<RunLock>> Acquire(std::shared_ptr<storage::Storage> storage,
                                                  const std::string& dir, const std::string& what,
                                                  int64_t lease_ms);
  ~RunLock();  // releases
  // Rewrites the heartbeat; call well within the lease.
  Status Renew();

 private:
  RunLock(std::shared_ptr<storage::Storage> storage, std::string path, Json record)
      : storage_(std::move(storage)), path_(std::move(path)), record_(std::move(record)) {}
  std::shared_ptr<storage::Storage> storage_;
  std::string path_;
  Json record_;
};

// The storage folder of the lock for one routine's backups of one kind and slice.
std::string RunLockDirectory(const std::string& routine, bool incremental,
                             const std::string& slice_key);

}  // namespace absvc::service
