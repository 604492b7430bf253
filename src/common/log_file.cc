#include "common/log_file.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <vector>

#include "common/utc_time.h"

namespace absvc {
namespace fs = std::filesystem;
namespace {

// "<stem>-2026-12-01T03-50-00.123<ext>", UTC, as lumberjack names its backups: the names
// sort in the order the files were rotated.
std::string BackupName(const fs::path& path, int64_t unix_ms) {
  return (path.parent_path() /
          (path.stem().string() + "-" + FormatUtcMillis(unix_ms, "%Y-%m-%dT%H-%M-%S") +
           path.extension().string()))
      .string();
}

bool GzipFile(const std::string& from, const std::string& to) {
  std::FILE* in = std::fopen(from.c_str(), "rb");
  if (!in) return false;
  gzFile out = gzopen(to.c_str(), "wb");
  if (!out) {
    std::fclose(in);
    return false;
  }
  char buf[1 << 16];
  bool ok = true;
  size_t n;
  while (ok && (n = std::fread(buf, 1, sizeof buf, in)) > 0)
    ok = gzwrite(out, buf, static_cast<unsigned>(n)) == static_cast<int>(n);
  ok = ok && !std::ferror(in);
  std::fclose(in);
  ok = gzclose(out) == Z_OK && ok;
  return ok;
}

}  // namespace

RotatingLogFile::RotatingLogFile(LogFileOptions options) : o_(std::move(options)) {
  // The file's directory is created as ABS creates it; a failure shows as the open's.
  std::error_code ec;
  fs::path dir = fs::path(o_.path).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  Open();
  mill_ = std::thread([this] { Mill(); });
}

RotatingLogFile::~RotatingLogFile() {
  {
    std::lock_guard lock(mill_mu_);
    stopping_ = true;
  }
  mill_cv_.notify_all();
  mill_.join();
  if (file_) std::fclose(file_);
}

void RotatingLogFile::Open() {
  file_ = std::fopen(o_.path.c_str(), "ab");
  if (!file_) {
    throw spdlog::spdlog_ex("cannot open " + o_.path + " for appending", errno);
  }
  std::error_code ec;
  auto size = fs::file_size(o_.path, ec);
  size_ = ec ? 0 : static_cast<size_t>(size);
}

void RotatingLogFile::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  if (size_ > 0 && size_ + line.size() > o_.max_bytes) RotateLocked();
  if (!file_) return;  // a failed reopen: lines are dropped rather than the process stopped
  std::fwrite(line.data(), 1, line.size(), file_);
  size_ += line.size();
}

void RotatingLogFile::flush_() {
  if (file_) std::fflush(file_);
}

void RotatingLogFile::Reopen() {
  std::lock_guard lock(mutex_);
  if (file_) std::fclose(file_);
  file_ = nullptr;
  try {
    Open();
  } catch (const spdlog::spdlog_ex&) {
    // Lines are dropped until the next reopen or rotation rather than the process stopped.
  }
}

void RotatingLogFile::RotateNow() {
  std::lock_guard lock(mutex_);
  RotateLocked();
}

void RotatingLogFile::RotateLocked() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  // Each rotation takes a later millisecond than the one before, so two rotations within
  // a millisecond neither overwrite each other nor sort out of order.
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  ms = std::max(ms, last_rotation_ms_ + 1);
  std::error_code ec;
  std::string backup = BackupName(o_.path, ms);
  while (fs::exists(backup, ec) || fs::exists(backup + ".gz", ec))
    backup = BackupName(o_.path, ++ms);
  last_rotation_ms_ = ms;
  fs::rename(o_.path, backup, ec);
  try {
    Open();
  } catch (const spdlog::spdlog_ex&) {
    file_ = nullptr;
  }
  {
    std::lock_guard lock(mill_mu_);
    if (!ec && o_.compress) to_compress_.push_back(backup);
    mill_pending_ = true;
  }
  mill_cv_.notify_all();
}

void RotatingLogFile::WaitIdle() {
  std::unique_lock lock(mill_mu_);
  mill_cv_.wait(lock, [&] { return !mill_pending_ && to_compress_.empty(); });
}

void RotatingLogFile::Mill() {
  std::unique_lock lock(mill_mu_);
  while (true) {
    mill_cv_.wait(lock, [&] { return stopping_ || mill_pending_; });
    if (!mill_pending_ && stopping_) return;
    while (!to_compress_.empty()) {
      std::string path = to_compress_.front();
      lock.unlock();
      // The .gz is written beside it, then the original goes: a crash in between
      // leaves both, never neither.
      if (GzipFile(path, path + ".gz")) {
        std::error_code ec;
        fs::remove(path, ec);
      }
      lock.lock();
      to_compress_.pop_front();
    }
    lock.unlock();
    Prune();
    lock.lock();
    if (to_compress_.empty()) mill_pending_ = false;
    mill_cv_.notify_all();
  }
}

void RotatingLogFile::Prune() {
  const fs::path path(o_.path);
  const std::string prefix = path.stem().string() + "-";
  const std::string ext = path.extension().string();
  std::vector<fs::directory_entry> backups;
  std::error_code ec;
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    // Only what rotation named: the stem, a dash, then the time.
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() ||
        !std::isdigit(static_cast<unsigned char>(name[prefix.size()]))) {
      continue;
    }
    bool plain =
        name.size() >= ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
    bool gz = name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
    if (plain || gz) backups.push_back(e);
  }
  // Newest first: the names carry the rotation time.
  std::sort(backups.begin(), backups.end(), [](const auto& a, const auto& b) {
    return a.path().filename().string() > b.path().filename().string();
  });
  const auto now = fs::file_time_type::clock::now();
  for (size_t i = 0; i < backups.size(); ++i) {
    bool too_many = o_.max_backups > 0 && i >= o_.max_backups;
    bool too_old = false;
    if (o_.max_age_days > 0) {
      auto written = fs::last_write_time(backups[i].path(), ec);
      too_old = !ec && now - written > std::chrono::hours(24) * o_.max_age_days;
    }
    if (too_many || too_old) fs::remove(backups[i].path(), ec);
  }
}

}  // namespace absvc
