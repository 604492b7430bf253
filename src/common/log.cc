#include "common/log.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace absvc {

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
