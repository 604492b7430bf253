// What a restore or verify reads besides .asb files: metadata.yaml, the manifest (with its
// block digests and seal), and partition lists from flags and configs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backupset/metadata.h"
#include "backupset/partition_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)absvc::backupset::ParseMetadataYaml(in);
  auto manifest = absvc::backupset::ParseManifestJson(in);
  (void)absvc::backupset::ManifestDigest(in);
  if (manifest.ok()) {
    // The input split in two: a manifest and the metadata.yaml beside it, both outside
    // input to the seal and count checks.
    (void)absvc::backupset::CheckDescriptions(in, *manifest, &in);
    (void)absvc::backupset::CheckDescriptions(in, *manifest, nullptr);
  }
  auto set = absvc::backupset::PartitionSet::ParseList(in);
  if (set.ok()) {
    auto again = absvc::backupset::PartitionSet::ParseList(set->ToList());
    if (!again.ok() || !(*again == *set)) __builtin_trap();
  }
  return 0;
}
