// replicas answers (partition bitmaps).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = absvc::wire::ParseReplicas(in);
  if (r.ok()) (void)absvc::wire::FormatReplicas(*r);
  return 0;
}
