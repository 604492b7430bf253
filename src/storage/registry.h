// The one way to open storage: a StorageSpec in, a Storage out, with the wrappers every
// caller wants (metrics, retries, the bandwidth limit). Nothing above src/storage opens a
// backend directly.
#pragma once

#include <memory>

#include "common/clock.h"
#include "storage/spec.h"
#include "storage/storage.h"
#include "storage/wrappers/forwarding.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {

struct OpenOptions {
  Clock* clock = &Clock::Real();
  std::shared_ptr<StorageStats> stats;  // counted here when set
  bool retries = true;
  // Set to end the storage's data transfers (upload parts and chunks, ranged reads) and
  // every wait on them at once, as kCancelled: how a cancelled or stopping job's uploads
  // let go. Listings, removals and small writes still run, so the job can clean up. Must
  // outlive the storage.
  const std::atomic<bool>* cancel = nullptr;
};

Result<std::unique_ptr<Storage>> OpenStorage(const StorageSpec& spec,
                                             const OpenOptions& options = {});

}  // namespace absvc::storage
