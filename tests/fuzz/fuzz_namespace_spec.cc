// abs-devcluster --namespace specs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "devcluster/cluster.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)absvc::devcluster::ParseNamespaceSpec(in);
  return 0;
}
