// Job history in SQLite under the state directory, so backup and restore jobs survive a
// restart of absd. A job still marked running at startup was interrupted by a crash or a
// kill: the service removes what it wrote and records the failure.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/config.h"

struct sqlite3;

namespace absvc::service {

struct JobRecord {
  int64_t id = 0;
  std::string kind;     // backup | restore
  std::string routine;  // backup jobs
  std::string type;     // full | incremental | timestamp
  std::string status;   // running | success | failure | canceled
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  Json detail = Json::object();  // directories, counters, error
};

class JobStore {
 public:
  // Opens (creating) <state_dir>/absd-jobs.sqlite.
  static Result<std::unique_ptr<JobStore>> Open(const std::string& state_dir);
  ~JobStore();

  Status Insert(const JobRecord& job);  // job.id chosen by the caller, unique
  Status Update(const JobRecord& job);
  Result<std::optional<JobRecord>> Get(int64_t id);
  // Jobs of a kind started within [from_ms, to_ms] (0 = unbounded), oldest first.
  Result<std::vector<JobRecord>> List(const std::string& kind, int64_t from_ms = 0,
                                      int64_t to_ms = 0);
  Result<std::vector<JobRecord>> Running();

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  Result<std::vector<JobRecord>> Query(const std::string& sql,
                                       const std::vector<std::string>& text_args,
                                       const std::vector<int64_t>& int_args);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace absvc::service
