// Quartz cron expressions from configs and PUT /v1/config. A schedule that parses must
// produce fire times that move strictly forward.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  auto s = CronSchedule::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!s.ok()) return 0;
  int64_t t = 1795574895;
  for (int i = 0; i < 3; ++i) {
    auto next = s->Next(t);
    if (!next) break;
    if (*next <= t) __builtin_trap();
    t = *next;
  }
  return 0;
}
