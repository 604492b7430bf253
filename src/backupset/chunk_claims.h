// Cooperative backup sets: any number of instances share one set's partitions, a chunk at
// a time, through the storage alone. No coordinator: every step is a conditional create
// (CreateExclusive: If-None-Match on S3 and Azure, ifGenerationMatch=0 on GCS, O_EXCL on
// local disk), so of two instances racing for the same object exactly one wins.
//
// Under the set's directory:
//   claims/<chunk>/<generation>.json  {"owner", "claimed-ms"}   who works on the chunk
//   owners/<owner>.json               {"heartbeat-ms"}          rewritten by its owner only
//   done/<chunk>.json                 {"generation", "owner", "result"}
//
// A claim lives as long as its owner's heartbeat: an owner renews owners/<owner>.json at
// least every lease / 3. A claim whose owner has not renewed for lease + max-clock-skew
// (by the claimer's clock) may be taken over by creating the next generation; a stalled
// owner that wakes up may still finish, but only the first commit of a chunk counts
// (done/<chunk>.json is created once), so a chunk's records are in the set exactly once.
// The loser of a commit discards its files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "storage/storage.h"

namespace absvc::backupset {

struct ClaimOptions {
  int64_t lease_ms = 30000;
  // How far apart any two instances' clocks may be (not each clock's distance from true
  // time: that, doubled); a lease is taken over only once its owner has been silent for
  // lease + max-clock-skew by the claimer's clock, so for more than a lease in truth.
  // A heartbeat is stamped before it is written: a storage whose writes take longer than
  // lease - renewal interval makes a live owner look silent (one commit still counts).
  int64_t max_clock_skew_ms = 5000;
};

struct ChunkClaim {
  int chunk = 0;
  int generation = 0;    // 0 for a fresh claim, n + 1 for a takeover of generation n
  std::string previous;  // the owner it was taken over from; empty for a fresh claim
  bool operator==(const ChunkClaim&) const = default;
};

class ChunkClaims {
 public:
  // `chunks` chunks numbered 0..chunks-1; `first` is where this owner starts looking for
  // a free one (spread the instances, say by a hash of the owner).
  ChunkClaims(storage::Storage& storage, std::string set_dir, std::string owner, int chunks,
              ClaimOptions options, Clock& clock, int first = 0);

  // Renews this owner's heartbeat.
  Status Heartbeat();
  // The next chunk this owner works on: one it holds already (after a restart with the
  // same owner name), a free one, or one whose owner went silent. nullopt when every
  // chunk is done or held by a live owner.
  Result<std::optional<ChunkClaim>> ClaimNext();
  // Whether another owner took the chunk over since `claim` (the work may stop early).
  Result<bool> Superseded(const ChunkClaim& claim);
  // Commits the chunk with `result` (its files and counts): true when this commit is the
  // chunk's (also when the storage retried a create whose answer was lost), false when
  // another generation committed it first.
  Result<bool> Commit(const ChunkClaim& claim, const nlohmann::json& result);
  // Every committed chunk's done record, by chunk: JSON objects as the storage holds them,
  // whose fields the caller checks.
  Result<std::map<int, nlohmann::json>> Committed();
  Result<bool> AllDone();

  const std::string& owner() const { return owner_; }

 private:
  std::string ClaimPath(int chunk, int generation) const;
  Result<std::optional<int64_t>> HeartbeatOf(const std::string& owner);

  storage::Storage& storage_;
  const std::string dir_, owner_;
  const int chunks_;
  const ClaimOptions options_;
  Clock& clock_;
  const int first_;
  uint64_t commits_ = 0;
};

}  // namespace absvc::backupset
