// peers-*-std answers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = absvc::wire::ParsePeers(in);
  if (a.ok()) (void)absvc::wire::FormatPeers(*a);
  return 0;
}
