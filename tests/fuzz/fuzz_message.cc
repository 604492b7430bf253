// AS_MSG bodies from the network: every message packed in a proto is walked.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  absvc::wire::MessageView v;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t used = 0;
    if (!absvc::wire::DecodeMessage(in.substr(pos), &v, &used).ok()) break;
    if (used == 0 || used > in.size() - pos) __builtin_trap();
    for (const auto& op : v.ops) {
      if (op.value.data() + op.value.size() > in.data() + in.size()) __builtin_trap();
    }
    pos += used;
  }
  return 0;
}
