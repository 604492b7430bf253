// List and map particles: msgpack from the network or a backup file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/msgpack.h"
#include "wire/particle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)absvc::wire::ValidateMsgpack(in);
  (void)absvc::wire::ValidateParticle(20, in);
  if (!in.empty()) (void)absvc::wire::ValidateParticle(static_cast<uint8_t>(in[0]), in.substr(1));
  return 0;
}
