// A UTC time with milliseconds as text: `format` (strftime, seconds precision) then ".mmm".
// One place for the run timestamps in metadata.yaml and the log file's rotation names.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace absvc {

inline std::string FormatUtcMillis(int64_t unix_ms, const char* format) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, format, &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03d", stamp, static_cast<int>(unix_ms % 1000));
  return out;
}

}  // namespace absvc
