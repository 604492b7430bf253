// What a restore counts. Counters always add up, also for a restore that failed or was
// cancelled: read = inserted + existed + fresher + skipped + expired + ignored + failed.
#pragma once

#include <atomic>
#include <cstdint>

namespace absvc::restore {

struct RestoreCounters {
  std::atomic<uint64_t> read{0};
  std::atomic<uint64_t> inserted{0};
  std::atomic<uint64_t> existed{0};  // unique: the record was already there
  std::atomic<uint64_t> fresher{0};  // the cluster's generation was newer
  std::atomic<uint64_t> skipped{0};  // filtered out by set or bin list
  std::atomic<uint64_t> expired{0};
  std::atomic<uint64_t> ignored{0};
  // Read but not written: the cluster refused them, or the restore stopped (an error, a
  // damaged file, a cancel) before they were sent.
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> bytes{0};  // stored bytes read
  std::atomic<uint64_t> index_count{0};
  std::atomic<uint64_t> udf_count{0};
  std::atomic<uint64_t> files{0};
};

}  // namespace absvc::restore
