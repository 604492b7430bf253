// Quartz cron schedules, as ABS reads them: "sec min hour day-of-month month day-of-week
// [year]" (6 or 7 fields) or @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly.
// Fields take *, ?, numbers, a-b ranges, /steps and comma lists; months JAN-DEC and days
// SUN-SAT by name (day-of-week 1 = Sunday); day-of-month L (last day); day-of-week nL
// (last such weekday of the month) and n#k (k-th such weekday). Day-of-month and
// day-of-week cannot both be restricted (Quartz asks for ? in one of them).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace date {
class time_zone;
}  // namespace date

namespace absvc::service {

// schedule-timezone: "UTC" (nullptr), "Local" (the machine's zone) or an IANA name such as
// "Europe/Berlin", from the system's tz database. kInvalidArgument names an unknown one.
// "UTC" and "Local" as written in any case; any other name as it is.
std::string CanonicalZoneName(const std::string& name);
Result<const date::time_zone*> ScheduleZone(const std::string& name);

class CronSchedule {
 public:
  // The error names the field and the token that is wrong.
  static Result<CronSchedule> Parse(std::string_view expression);

  // The first fire time strictly after `after_unix_s`, the fields read as wall-clock time
  // in `zone` (nullptr = UTC); nullopt when none is left. Across daylight-saving changes:
  // a wall-clock time that does not exist (clocks spring forward) fires shifted by the
  // jump, as Quartz does (02:30 fires at 03:30); one that happens twice (clocks fall
  // back) fires on the first only.
  std::optional<int64_t> Next(int64_t after_unix_s, const date::time_zone* zone = nullptr) const;

  const std::string& text() const { return text_; }

 private:
  static constexpr int kFirstYear = 1970;
  static constexpr int kLastYear = 2199;
  bool DayMatches(int year, int month, int day, int weekday) const;
  // Next on a clock without daylight saving: seconds as if UTC.
  std::optional<int64_t> NextWallClock(int64_t after) const;

  std::string text_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<8> weekdays_;  // 1..7, 1 = Sunday
  std::bitset<kLastYear - kFirstYear + 1> years_;
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
  bool last_day_of_month_ = false;
  int last_weekday_ = 0;    // nL: 1..7, 0 = unused
  int nth_weekday_ = 0;     // n#k: weekday n ...
  int nth_occurrence_ = 0;  // ... k-th in the month
};

}  // namespace absvc::service
