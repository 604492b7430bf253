// Proto headers and compressed (type 4) bodies from the network.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)absvc::wire::DecodeProtoHeader(in);
  auto inner = absvc::wire::DecompressMessageBody(in);
  if (inner.ok() && inner->size() < 8) __builtin_trap();
  return 0;
}
