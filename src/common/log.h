// Logging through spdlog. One process-wide logger; level set once at startup.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace absvc {

// Accepts trace, debug, info, warn/warning, error (any case). Returns false when unknown.
bool SetLogLevel(std::string_view level);

}  // namespace absvc

#define ABS_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define ABS_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define ABS_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define ABS_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define ABS_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
