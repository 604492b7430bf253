// Quartz cron expressions from configs and PUT /v1/config. A schedule that parses must
// produce fire times that move strictly forward, in UTC and in a zone with daylight
// saving, from a start just before its spring-forward jump.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  auto s = CronSchedule::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!s.ok()) return 0;
  static const auto berlin = ScheduleZone("Europe/Berlin");
  for (const date::time_zone* zone :
       {static_cast<const date::time_zone*>(nullptr), berlin.ok() ? *berlin : nullptr}) {
    int64_t t = 1774743000;  // 2026-03-29T00:10:00Z, 50 minutes before Berlin's jump
    for (int i = 0; i < 3; ++i) {
      auto next = s->Next(t, zone);
      if (!next) break;
      if (*next <= t) __builtin_trap();
      t = *next;
    }
  }
  return 0;
}
