// .asb backup files: the whole decoder, header to end.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "asb/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::asb;
  Decoder dec(
      std::make_unique<StringSource>(std::string(reinterpret_cast<const char*>(data), size)),
      "fuzz.asb");
  if (!dec.ReadHeader().ok()) return 0;
  DecodedRecord r;
  SindexDefinition s;
  UdfDefinition u;
  for (int i = 0; i < 10000; ++i) {
    auto k = dec.Next(&r, &s, &u);
    if (!k.ok() || *k == ItemKind::kEnd) break;
  }
  return 0;
}
