#include "service/schedule.h"

#include <algorithm>

namespace absvc::service {
namespace {

// The routine's zone, else the service's. Both were checked with the configuration; a
// zone the tz database lost since reads as UTC.
const date::time_zone* ZoneOf(const Config& config, const RoutineConfig& r) {
  auto zone = ScheduleZone(r.schedule_timezone.empty() ? config.service.schedule_timezone
                                                       : r.schedule_timezone);
  return zone.ok() ? *zone : nullptr;
}

std::string ZoneName(const Config& config, const RoutineConfig& r) {
  return r.schedule_timezone.empty() ? config.service.schedule_timezone : r.schedule_timezone;
}

}  // namespace

void BackupSchedule::Update(const Config& config, int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = config.routines.count(it->first) ? std::next(it) : entries_.erase(it);
  }
  for (const auto& [name, r] : config.routines) {
    auto& e = entries_[name];
    const date::time_zone* zone = ZoneOf(config, r);
    std::string key = r.interval_cron.text() + "|" +
                      (r.incr_interval_cron ? r.incr_interval_cron->text() : "") + "|" +
                      ZoneName(config, r) + "|" + std::to_string(r.disabled);
    if (key == e.key && (e.next_full_ms != 0 || r.disabled)) continue;
    e.key = key;
    e.next_full_ms = 0;
    e.next_incremental_ms = 0;
    if (r.disabled) continue;
    if (auto next = r.interval_cron.Next(now_ms / 1000, zone)) e.next_full_ms = *next * 1000;
    if (r.incr_interval_cron) {
      if (auto next = r.incr_interval_cron->Next(now_ms / 1000, zone))
        e.next_incremental_ms = *next * 1000;
    }
  }
}

std::vector<DueBackup> BackupSchedule::TakeDue(const Config& config, int64_t now_ms) {
  std::vector<DueBackup> due;
  for (auto& [name, e] : entries_) {
    auto it = config.routines.find(name);
    if (it == config.routines.end() || it->second.disabled) continue;
    const RoutineConfig& r = it->second;
    const date::time_zone* zone = ZoneOf(config, r);
    if (e.next_full_ms != 0 && e.next_full_ms <= now_ms) {
      due.push_back({name, false});
      auto next = r.interval_cron.Next(now_ms / 1000, zone);
      e.next_full_ms = next ? *next * 1000 : 0;
    }
    if (e.next_incremental_ms != 0 && e.next_incremental_ms <= now_ms && r.incr_interval_cron) {
      due.push_back({name, true});
      auto next = r.incr_interval_cron->Next(now_ms / 1000, zone);
      e.next_incremental_ms = next ? *next * 1000 : 0;
    }
  }
  return due;
}

int64_t BackupSchedule::NextWakeMs(int64_t now_ms, int64_t max_wait_ms) const {
  int64_t wake = now_ms + max_wait_ms;
  for (const auto& [name, e] : entries_) {
    if (e.next_full_ms != 0) wake = std::min(wake, e.next_full_ms);
    if (e.next_incremental_ms != 0) wake = std::min(wake, e.next_incremental_ms);
  }
  return wake;
}

int64_t BackupSchedule::NextFullMs(const std::string& routine) const {
  auto it = entries_.find(routine);
  return it == entries_.end() ? 0 : it->second.next_full_ms;
}

int64_t BackupSchedule::NextIncrementalMs(const std::string& routine) const {
  auto it = entries_.find(routine);
  return it == entries_.end() ? 0 : it->second.next_incremental_ms;
}

}  // namespace absvc::service
