// The coverage of a routine's backup sets, for the dashboard's coverage map. Parallel
// instances each write their own run directory of one routine; the runs that started
// within `window_ms` of a set's first run form one set, and verify's own union of their
// manifests (backup/verify.h, at manifest depth) says which partitions the set covers,
// misses or covers twice.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "storage/storage.h"

namespace absvc::service {

struct CoverageQuery {
  bool incremental = false;
  int64_t from_ms = 0, to_ms = 0;  // the sets' first run within [from, to]; 0 = unbounded
  int64_t window_ms = 60000;
  int64_t limit = 10;  // the newest sets
};

// {"routine", "type", "window-ms", "sets": [newest first: {"timestamp", "start-time",
// "verdict", "in-progress", "runs": [...], "problems": [...], "namespaces": {ns: {...,
// "partitions": 4096 characters, '0' missing, '1' covered, '2' covered more than once,
// 'r' not covered yet but being read by a running run}}}]}.
// `lease_ms` tells a run whose owner is gone (abandoned) from one still running.
Result<Json> RoutineCoverage(storage::Storage& storage, const std::string& routine,
                             const CoverageQuery& query, int64_t now_ms, int64_t lease_ms);

}  // namespace absvc::service
