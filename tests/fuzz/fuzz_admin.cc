// Admin (security) messages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/admin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  absvc::wire::AdminMessage m;
  (void)absvc::wire::DecodeAdminMessage(in, &m);
  return 0;
}
