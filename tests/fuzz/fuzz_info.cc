// Info requests (server side) and responses (client side).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto c : absvc::wire::SplitInfoRequest(in))
    (void)absvc::wire::ParseInfoCommand(c);
  for (const auto& p : absvc::wire::ParseInfoResponse(in))
    (void)absvc::wire::ParseInfoError(p.value);
  (void)absvc::wire::ParseKeyValues(in);
  return 0;
}
