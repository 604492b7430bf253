// absd's log file, rotated as the original service rotates its own (lumberjack's rules):
// past `max_bytes` the file is renamed <stem>-<UTC time><ext> and a new one started;
// rotated files are gzipped when `compress` is set (<...><ext>.gz, in the background),
// and removed beyond the `max_backups` newest (0 = keep any number) and once older than
// `max_age_days` (0 = no age limit).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace absvc {

struct LogFileOptions {
  std::string path;
  size_t max_bytes = 100u << 20;
  size_t max_backups = 3;
  int max_age_days = 0;
  bool compress = false;
};

class RotatingLogFile : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Throws spdlog::spdlog_ex naming the file when it cannot be opened.
  explicit RotatingLogFile(LogFileOptions options);
  ~RotatingLogFile() override;

  // Rotates now (as when the file is full); for tests and SIGHUP-style use.
  void RotateNow();
  // Closes the file and opens its path again (SIGHUP): after an outside tool (logrotate)
  // moved it away, logging goes on in a new file at the configured path.
  void Reopen();
  // Waits until every rotated file is compressed and the old ones are removed.
  void WaitIdle();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void Open();
  void RotateLocked();
  void Mill();  // background: compresses and prunes rotated files
  void Prune();

  const LogFileOptions o_;
  std::FILE* file_ = nullptr;
  size_t size_ = 0;
  int64_t last_rotation_ms_ = 0;
  std::mutex mill_mu_;
  std::condition_variable mill_cv_;
  std::deque<std::string> to_compress_;
  bool mill_pending_ = false;  // a prune (and maybe compressions) is queued or running
  bool stopping_ = false;
  std::thread mill_;
};

}  // namespace absvc
