// Filter expressions (field 43): parsed, then evaluated against a record.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto e = absvc::wire::Expression::Parse(in);
  if (e.ok()) {
    uint8_t digest[20] = {1, 2, 3};
    absvc::wire::ExpRecord r;
    r.digest = digest;
    r.set_name = "demo";
    (void)e->Matches(r);
  }
  return 0;
}
