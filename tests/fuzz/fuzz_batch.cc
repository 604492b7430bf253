// Batch-index fields (41/42) with REPEAT rows.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  absvc::wire::BatchRequest b;
  (void)absvc::wire::DecodeBatchIndex(in, &b);
  return 0;
}
