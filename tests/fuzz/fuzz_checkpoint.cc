// The backup checkpoint read by a resume: whatever it holds, a verdict and no crash, and
// what it accepts it writes back to the same meaning.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backupset/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto c = absvc::backupset::ParseCheckpoint(in);
  if (c.ok()) {
    std::string text = absvc::backupset::FormatCheckpoint(*c);
    auto again = absvc::backupset::ParseCheckpoint(text);
    if (!again.ok() || absvc::backupset::FormatCheckpoint(*again) != text) __builtin_trap();
  }
  return 0;
}
