// Seed host lists from flags and config files.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client/host.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto hosts = absvc::client::ParseHosts(in);
  if (hosts.ok()) {
    for (const auto& h : *hosts) {
      auto again = absvc::client::ParseHost(h.ToString());
      if (!again.ok() || !(*again == h)) __builtin_trap();  // printing then parsing is lossless
    }
  }
  return 0;
}
