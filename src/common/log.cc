#include "common/log.h"

#include "common/log_file.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <string>

namespace absvc {
namespace {

// %j: the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* kHex = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(esc, esc + 6);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::mutex g_file_mu;
std::shared_ptr<RotatingLogFile> g_file;  // the configured log file, if any

}  // namespace

void ReopenLogFile() {
  std::shared_ptr<RotatingLogFile> file;
  {
    std::lock_guard lock(g_file_mu);
    file = g_file;
  }
  if (file) file->Reopen();
}

bool ConfigureLogging(const LogOptions& o, std::string* error) {
  std::vector<spdlog::sink_ptr> sinks;
  if (o.to_stdout) sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  if (!o.file.empty()) {
    try {
      auto file = std::make_shared<RotatingLogFile>(LogFileOptions{
          o.file, o.file_max_bytes, o.file_max_backups, o.file_max_age_days, o.file_compress});
      sinks.push_back(file);
      std::lock_guard lock(g_file_mu);
      g_file = file;
    } catch (const spdlog::spdlog_ex& e) {
      if (error) *error = "cannot open log file " + o.file + ": " + e.what();
      return false;
    }
  }
  auto logger = std::make_shared<spdlog::logger>("abs", sinks.begin(), sinks.end());
  if (o.json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc,
                                                         spdlog::details::os::default_eol);
    f->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"})");
    logger->set_formatter(std::move(f));
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  if (!SetLogLevel(o.level)) {
    if (error) *error = "unknown log level " + o.level;
    return false;
  }
  return true;
}

bool SetLogLevel(std::string_view level) {
  std::string l(level);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "warning") l = "warn";
  auto lvl = spdlog::level::from_str(l);
  if (lvl == spdlog::level::off && l != "off") return false;
  spdlog::set_level(lvl);
  return true;
}

}  // namespace absvc
