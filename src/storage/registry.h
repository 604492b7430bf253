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
};

Result<std::unique_ptr<Storage>> OpenStorage(const StorageSpec& spec,
                                             const OpenOptions& options = {});

}  // namespace absvc::storage
