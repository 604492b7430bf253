// POST /v1/restore/{full,incremental,timestamp} bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  Json j = Json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  (void)ParseRestoreRequest(j, false);
  (void)ParseRestoreRequest(j, true);
  return 0;
}
