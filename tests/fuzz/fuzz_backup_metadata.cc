// What a restore or verify reads besides .asb files: metadata.yaml, the manifest, and
// partition lists from flags and configs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backup/backup_metadata.h"
#include "backup/partition_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)absvc::backup::ParseMetadataYaml(in);
  (void)absvc::backup::ParseManifestJson(in);
  auto set = absvc::backup::PartitionSet::ParseList(in);
  if (set.ok()) {
    auto again = absvc::backup::PartitionSet::ParseList(set->ToList());
    if (!again.ok() || !(*again == *set)) __builtin_trap();
  }
  return 0;
}
