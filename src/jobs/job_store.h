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

#include <nlohmann/json.hpp>
#include "common/status.h"

#include "jobs/job.h"

struct sqlite3;

namespace absvc::jobs {

struct JobRecord {
  int64_t id = 0;
  JobKind kind = JobKind::kBackup;
  std::string routine;  // backup jobs
  JobType type = JobType::kFull;
  JobStatus status = JobStatus::kRunning;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  nlohmann::ordered_json detail = nlohmann::ordered_json::object();  // directories, counters, error
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
  Result<std::vector<JobRecord>> List(JobKind kind, int64_t from_ms = 0, int64_t to_ms = 0);
  Result<std::vector<JobRecord>> Running();

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  Result<std::vector<JobRecord>> Query(const std::string& sql,
                                       const std::vector<std::string>& text_args,
                                       const std::vector<int64_t>& int_args);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace absvc::jobs
