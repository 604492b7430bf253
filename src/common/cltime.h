// Time bases of Aerospike. The citrusleaf epoch is 2010-01-01T00:00:00Z.
//   void time: u32 seconds since the citrusleaf epoch, 0 = never expires
//   last-update time (LUT): milliseconds since the citrusleaf epoch
//   expressions: LUT and void time in Unix nanoseconds
#pragma once

#include <chrono>
#include <cstdint>

namespace absvc {

inline constexpr int64_t kCitrusleafEpochUnixSeconds = 1262304000;

inline int64_t UnixNowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t UnixNowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline uint32_t CitrusleafNowSeconds() {
  return static_cast<uint32_t>(UnixNowMillis() / 1000 - kCitrusleafEpochUnixSeconds);
}
inline uint64_t CitrusleafNowMillis() {
  return static_cast<uint64_t>(UnixNowMillis() - kCitrusleafEpochUnixSeconds * 1000);
}
inline int64_t CitrusleafMillisToUnixNanos(uint64_t cl_ms) {
  return (static_cast<int64_t>(cl_ms) + kCitrusleafEpochUnixSeconds * 1000) * 1000000;
}
inline int64_t VoidTimeToUnixNanos(uint32_t void_time) {
  return (static_cast<int64_t>(void_time) + kCitrusleafEpochUnixSeconds) * 1000000000;
}

}  // namespace absvc
