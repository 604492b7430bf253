// Logging through spdlog. One process-wide logger; level set once at startup.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace absvc {

// Accepts trace, debug, info, warn/warning, error (any case). Returns false when unknown.
bool SetLogLevel(std::string_view level);

struct LogOptions {
  std::string level = "info";
  bool json = false;  // one JSON object per line
  bool to_stdout = true;
  std::string file;  // empty = no file
  size_t file_max_bytes = 100u << 20;
  size_t file_max_backups = 3;  // rotated files kept beside `file` (0 = any number)
  int file_max_age_days = 0;    // rotated files older are removed (0 = no limit)
  bool file_compress = false;   // rotated files are gzipped
};

// Replaces the process-wide logger. Fails (naming the file) when the file cannot be opened.
bool ConfigureLogging(const LogOptions& options, std::string* error);
// Reopens the log file at its configured path (what a daemon does on SIGHUP); nothing
// without a log file.
void ReopenLogFile();

}  // namespace absvc

#define ABS_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define ABS_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define ABS_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define ABS_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define ABS_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
