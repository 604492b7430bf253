// When backups are due: each routine's next full and incremental fire times from its
// crons and time zone. No threads and no clock of its own: the service's scheduler loop
// asks it what is due at a time and how long it may sleep.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace absvc::service {

struct DueBackup {
  std::string routine;
  bool incremental = false;
};

class BackupSchedule {
 public:
  // Takes in a (new) configuration at `now_ms`. A routine whose crons, time zone and
  // enabled state did not change keeps its next fire times: an edit made just before a
  // fire time must not skip that backup.
  void Update(const Config& config, int64_t now_ms);

  // The backups due at `now_ms` (each fire time passed), their next fire times moved on.
  std::vector<DueBackup> TakeDue(const Config& config, int64_t now_ms);

  // The earliest next fire time, at most `now_ms + max_wait_ms`.
  int64_t NextWakeMs(int64_t now_ms, int64_t max_wait_ms = 60000) const;

  // 0 when none is scheduled.
  int64_t NextFullMs(const std::string& routine) const;
  int64_t NextIncrementalMs(const std::string& routine) const;

 private:
  struct Entry {
    std::string key;  // the crons, time zone and state the times came from
    int64_t next_full_ms = 0;
    int64_t next_incremental_ms = 0;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace absvc::service
