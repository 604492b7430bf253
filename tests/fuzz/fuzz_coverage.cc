// The dashboard's coverage of a routine's backup sets, computed from whatever a shared
// storage holds under the routine: run directories, manifests, claims and files another
// instance, an older abs, ABS or a damaged write may have left. It must never crash, and
// every namespace it reports has 4,096 partitions, each covered, missing or read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "service/coverage.h"
#include "storage/memory/memory_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc;
  if (size < 1) return 0;
  static auto storage = std::move(storage::OpenMemoryStorage("fuzz-coverage")).value();
  // Input: a window byte, then NUL-separated pairs of path (under r/backup/) and content.
  service::CoverageQuery q;
  q.window_ms = data[0] * 10;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> paths;
  while (!rest.empty()) {
    auto cut = rest.find('\0');
    std::string path(rest.substr(0, cut));
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    cut = rest.find('\0');
    std::string content(rest.substr(0, cut));
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    path = "r/backup/" + path;
    if (storage->PutAtomic(path, content).ok()) paths.push_back(path);
  }
  auto out = service::RoutineCoverage(*storage, "r", q, 1795574895000, 60000);
  if (out.ok()) {
    for (const auto& set : (*out)["sets"]) {
      if (!set.contains("namespaces")) continue;
      for (const auto& [ns, c] : set["namespaces"].items()) {
        const std::string& cells = c["partitions"].get_ref<const std::string&>();
        if (cells.size() != 4096) __builtin_trap();
        if (c["covered"].get<size_t>() + c["missing"].get<size_t>() != 4096) __builtin_trap();
      }
    }
  }
  for (const auto& p : paths)
    (void)storage->Remove(p);
  return 0;
}
