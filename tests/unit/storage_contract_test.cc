// The storage contract (tests/storage_contract.h) on the backends that need no server:
// local disk and memory, opened through the registry, bare and under the wrappers.
#include <unistd.h>

#include <filesystem>

#include "storage/registry.h"
#include "storage_contract.h"

namespace absvc::storage {
namespace {

namespace fs = std::filesystem;

std::string TempRoot(const std::string& backend, const std::string& test) {
  auto root = fs::temp_directory_path() /
              ("abs-contract-" + std::to_string(::getpid()) + "-" + backend + "-" + test);
  fs::remove_all(root);
  return root.string();
}

std::unique_ptr<Storage> Open(StorageSpec spec) {
  auto s = OpenStorage(spec);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageContract,
                         ::testing::Values(Backend{"local",
                                                   [](const std::string& test) {
                                                     StorageSpec spec;
                                                     spec.path = TempRoot("local", test);
                                                     return Open(spec);
                                                   }},
                                           Backend{"memory",
                                                   [](const std::string& test) {
                                                     StorageSpec spec;
                                                     spec.kind = StorageKind::kMemory;
                                                     spec.path = "contract-" + test;
                                                     return Open(spec);
                                                   }},
                                           Backend{"memory_metered_throttled",
                                                   [](const std::string& test) {
                                                     StorageSpec spec;
                                                     spec.kind = StorageKind::kMemory;
                                                     spec.path = "contract-metered-" + test;
                                                     spec.bandwidth_bytes_per_second = 1 << 30;
                                                     OpenOptions options;
                                                     options.stats =
                                                         std::make_shared<StorageStats>();
                                                     auto s = OpenStorage(spec, options);
                                                     return s.ok() ? std::move(s).value() : nullptr;
                                                   }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace absvc::storage
