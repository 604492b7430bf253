#include "config/cron.h"

#include <date/tz.h>

#include <ctime>
#include <vector>

#include "common/text.h"
#include "wire/info.h"

namespace absvc::service {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // optional names for min..; nullptr when none
};

const char* const kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

bool ParseNumber(std::string_view s, const FieldSpec& f, int* out) {
  if (s.empty()) return false;
  if (f.names) {
    for (int i = 0; i <= f.max - f.min; ++i) {
      std::string_view n = f.names[i];
      if (s.size() == n.size()) {
        bool eq = true;
        for (size_t k = 0; k < s.size(); ++k)
          eq = eq && (std::toupper(static_cast<unsigned char>(s[k])) == n[k]);
        if (eq) {
          *out = f.min + i;
          return true;
        }
      }
    }
  }
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > 10000) return false;
    v = v * 10 + (c - '0');
  }
  if (v < f.min || v > f.max) return false;
  *out = v;
  return true;
}

// Sets the bits of one field; `restricted` is false for * and ?.
template <size_t N>
Status ParseField(std::string_view text, const FieldSpec& f, std::bitset<N>& bits, bool* restricted,
                  int bit_offset = 0) {
  auto bad = [&](std::string_view token, std::string why) {
    return Status::InvalidArgument(std::string(f.name) + " field: '" + ShortValue(token) + "' " +
                                   why);
  };
  *restricted = !(text == "*" || text == "?");
  for (auto part : wire::SplitUserList(text, ',')) {
    if (part.empty()) return bad(text, "has an empty list entry");
    int step = 1;
    std::string_view range = part;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      FieldSpec step_spec{f.name, 1, f.max - f.min + 1 > 1 ? f.max - f.min + 1 : 1, nullptr};
      if (!ParseNumber(part.substr(slash + 1), step_spec, &step))
        return bad(part, "has a bad step (1.." + std::to_string(step_spec.max) + ")");
      range = part.substr(0, slash);
    }
    int lo, hi;
    if (range == "*" || range == "?") {
      lo = f.min;
      hi = f.max;
    } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
      if (!ParseNumber(range.substr(0, dash), f, &lo) ||
          !ParseNumber(range.substr(dash + 1), f, &hi)) {
        return bad(part,
                   "is not a range within " + std::to_string(f.min) + ".." + std::to_string(f.max));
      }
      if (hi < lo) return bad(part, "is a range that ends before it starts");
    } else {
      if (!ParseNumber(range, f, &lo))
        return bad(part,
                   "is not a value within " + std::to_string(f.min) + ".." + std::to_string(f.max));
      // "5/15" means from 5 to the end in steps of 15.
      hi = part.find('/') != std::string_view::npos ? f.max : lo;
    }
    for (int v = lo; v <= hi; v += step)
      bits.set(static_cast<size_t>(v - bit_offset));
  }
  return Status::Ok();
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::string expr(expression);
  while (!expr.empty() && (expr.back() == ' ' || expr.back() == '\t'))
    expr.pop_back();
  while (!expr.empty() && (expr.front() == ' ' || expr.front() == '\t'))
    expr.erase(expr.begin());
  std::string text = expr;
  if (!expr.empty() && expr[0] == '@') {
    if (expr == "@yearly" || expr == "@annually") {
      expr = "0 0 0 1 1 ?";
    } else if (expr == "@monthly") {
      expr = "0 0 0 1 * ?";
    } else if (expr == "@weekly") {
      expr = "0 0 0 ? * 1";
    } else if (expr == "@daily" || expr == "@midnight") {
      expr = "0 0 0 * * ?";
    } else if (expr == "@hourly") {
      expr = "0 0 * * * ?";
    } else {
      return Status::InvalidArgument("unknown cron macro '" + ShortValue(expr) +
                                     "' (use @yearly, @monthly, @weekly, @daily or @hourly)");
    }
  }
  std::vector<std::string> fields;
  {
    std::string cur;
    for (char c : expr) {
      if (c == ' ' || c == '\t') {
        if (!cur.empty()) fields.push_back(std::move(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) fields.push_back(std::move(cur));
  }
  if (fields.size() != 6 && fields.size() != 7) {
    return Status::InvalidArgument(
        "a cron expression has 6 or 7 fields (sec min hour day-of-month month day-of-week "
        "[year]), '" +
        ShortValue(text) + "' has " + std::to_string(fields.size()));
  }
  CronSchedule s;
  s.text_ = text;
  bool r;
  ABS_RETURN_IF_ERROR(ParseField(fields[0], {"seconds", 0, 59, nullptr}, s.seconds_, &r));
  ABS_RETURN_IF_ERROR(ParseField(fields[1], {"minutes", 0, 59, nullptr}, s.minutes_, &r));
  ABS_RETURN_IF_ERROR(ParseField(fields[2], {"hours", 0, 23, nullptr}, s.hours_, &r));
  std::string dom = fields[3];
  if (dom == "L") {
    s.last_day_of_month_ = true;
    s.days_restricted_ = true;
  } else {
    ABS_RETURN_IF_ERROR(
        ParseField(dom, {"day-of-month", 1, 31, nullptr}, s.days_, &s.days_restricted_));
  }
  ABS_RETURN_IF_ERROR(ParseField(fields[4], {"month", 1, 12, kMonthNames}, s.months_, &r));
  std::string dow = fields[5];
  FieldSpec dow_spec{"day-of-week", 1, 7, kDayNames};
  if (dow.size() >= 2 && dow.back() == 'L') {
    if (!ParseNumber(std::string_view(dow).substr(0, dow.size() - 1), dow_spec, &s.last_weekday_))
      return Status::InvalidArgument("day-of-week field: '" + ShortValue(dow) +
                                     "' is not a valid nL");
    s.weekdays_restricted_ = true;
  } else if (auto hash = dow.find('#'); hash != std::string::npos) {
    FieldSpec nth{"day-of-week", 1, 5, nullptr};
    if (!ParseNumber(std::string_view(dow).substr(0, hash), dow_spec, &s.nth_weekday_) ||
        !ParseNumber(std::string_view(dow).substr(hash + 1), nth, &s.nth_occurrence_)) {
      return Status::InvalidArgument("day-of-week field: '" + ShortValue(dow) +
                                     "' is not a valid n#k (k = 1..5)");
    }
    s.weekdays_restricted_ = true;
  } else {
    ABS_RETURN_IF_ERROR(ParseField(dow, dow_spec, s.weekdays_, &s.weekdays_restricted_));
  }
  if (s.days_restricted_ && s.weekdays_restricted_) {
    return Status::InvalidArgument(
        "cron '" + ShortValue(text) +
        "' restricts both day-of-month and day-of-week; use ? in one of them");
  }
  if (fields.size() == 7) {
    ABS_RETURN_IF_ERROR(
        ParseField(fields[6], {"year", kFirstYear, kLastYear, nullptr}, s.years_, &r, kFirstYear));
  } else {
    s.years_.set();
  }
  return s;
}

bool CronSchedule::DayMatches(int year, int month, int day, int weekday) const {
  if (days_restricted_) {
    if (last_day_of_month_) return day == DaysInMonth(year, month);
    return days_.test(static_cast<size_t>(day));
  }
  if (weekdays_restricted_) {
    if (last_weekday_ != 0) {
      return weekday == last_weekday_ && day + 7 > DaysInMonth(year, month);
    }
    if (nth_weekday_ != 0) return weekday == nth_weekday_ && (day - 1) / 7 + 1 == nth_occurrence_;
    return weekdays_.test(static_cast<size_t>(weekday));
  }
  return true;
}

std::optional<int64_t> CronSchedule::NextWallClock(int64_t after) const {
  auto to_tm = [](time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
  };
  auto from_tm = [](std::tm tm) -> int64_t { return static_cast<int64_t>(timegm(&tm)); };
  int64_t t = after + 1;
  // Each step either matches or jumps to the start of the next second, minute, hour, day,
  // month or year, so a few thousand steps cover centuries.
  for (int steps = 0; steps < 200000; ++steps) {
    std::tm tm = to_tm(static_cast<time_t>(t));
    int year = tm.tm_year + 1900;
    if (year > kLastYear) return std::nullopt;
    if (year < kFirstYear || !years_.test(static_cast<size_t>(year - kFirstYear))) {
      std::tm n{};
      n.tm_year = tm.tm_year + 1;
      n.tm_mday = 1;
      t = from_tm(n);
      continue;
    }
    if (!months_.test(static_cast<size_t>(tm.tm_mon + 1))) {
      std::tm n{};
      n.tm_year = tm.tm_year;
      n.tm_mon = tm.tm_mon + 1;
      n.tm_mday = 1;
      t = from_tm(n);
      continue;
    }
    if (!DayMatches(year, tm.tm_mon + 1, tm.tm_mday, tm.tm_wday + 1)) {
      std::tm n{};
      n.tm_year = tm.tm_year;
      n.tm_mon = tm.tm_mon;
      n.tm_mday = tm.tm_mday + 1;
      t = from_tm(n);
      continue;
    }
    if (!hours_.test(static_cast<size_t>(tm.tm_hour))) {
      std::tm n = tm;
      n.tm_hour += 1;
      n.tm_min = 0;
      n.tm_sec = 0;
      t = from_tm(n);
      continue;
    }
    if (!minutes_.test(static_cast<size_t>(tm.tm_min))) {
      t += 60 - tm.tm_sec;
      continue;
    }
    if (!seconds_.test(static_cast<size_t>(tm.tm_sec))) {
      t += 1;
      continue;
    }
    return t;
  }
  return std::nullopt;
}

std::optional<int64_t> CronSchedule::Next(int64_t after_unix_s, const date::time_zone* zone) const {
  if (!zone) return NextWallClock(after_unix_s);
  using std::chrono::seconds;
  // The search runs on the zone's wall clock, from the wall-clock time of `after`; each
  // wall-clock match becomes an instant with the offset in force just before it (for a
  // time in a spring-forward gap that shifts it by the jump; for one that happens twice it
  // is the first). A match that is not after `after` (the repeated hour) is passed over.
  auto wall = [&](int64_t unix_s) {
    return zone->to_local(date::sys_seconds(seconds(unix_s))).time_since_epoch().count();
  };
  int64_t from = wall(after_unix_s);
  for (int tries = 0; tries < 1000; ++tries) {
    auto match = NextWallClock(from);
    if (!match) return std::nullopt;
    auto info = zone->get_info(date::local_seconds(seconds(*match)));
    int64_t instant = *match - info.first.offset.count();
    if (instant > after_unix_s) return instant;
    from = *match;
  }
  return std::nullopt;
}

std::string CanonicalZoneName(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return lower == "utc" ? "UTC" : lower == "local" ? "Local" : name;
}

Result<const date::time_zone*> ScheduleZone(const std::string& name) {
  // UTC and Local in any case, as ABS reads them; IANA names as the tz database spells them.
  auto is = [&](std::string_view word) {
    return name.size() == word.size() &&
           std::equal(name.begin(), name.end(), word.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(b);
           });
  };
  if (name.empty() || is("utc")) return static_cast<const date::time_zone*>(nullptr);
  if (is("local")) {
    // A machine with no zone configured keeps UTC, as the C library does.
    try {
      return date::current_zone();
    } catch (const std::exception&) {
      return static_cast<const date::time_zone*>(nullptr);
    }
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone '" + ShortValue(name) +
                                   "' (an IANA name such as Europe/Berlin, UTC or Local)");
  }
}

}  // namespace absvc::service
