// Secret Agent answers and references: bytes from an agent (header, then body) and
// references from a configuration, through the same decoders FetchSecret uses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client/secret_agent.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::client;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)ParseSecretRef(in);
  if (in.size() >= kSecretAgentHeaderSize) {
    auto length = DecodeSecretAnswerHeader(in.substr(0, kSecretAgentHeaderSize));
    if (length.ok() && *length > kMaxSecretAgentAnswer) __builtin_trap();
  }
  for (bool base64 : {false, true}) {
    auto secret = DecodeSecretAnswer(in, base64);
    if (secret.ok() && secret->empty()) __builtin_trap();
  }
  return 0;
}
