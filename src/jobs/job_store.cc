#include "jobs/job_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

namespace absvc::jobs {
namespace {

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::Io("job history: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<std::unique_ptr<JobStore>> JobStore::Open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return Status::Io("cannot create state directory " + state_dir + ": " + ec.message());
  std::filesystem::permissions(state_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  std::string path = state_dir + "/absd-jobs.sqlite";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    Status st = Status::Io("cannot open job history " + path + ": " +
                           (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return st;
  }
  // Several absd started from one directory share this file: a writer waits for another
  // rather than failing with "database is locked".
  sqlite3_busy_timeout(db, 10000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS jobs ("
      "  id INTEGER PRIMARY KEY,"
      "  kind TEXT NOT NULL,"
      "  routine TEXT NOT NULL DEFAULT '',"
      "  type TEXT NOT NULL DEFAULT '',"
      "  status TEXT NOT NULL,"
      "  started_ms INTEGER NOT NULL,"
      "  finished_ms INTEGER NOT NULL DEFAULT 0,"
      "  detail TEXT NOT NULL DEFAULT '{}');"
      "CREATE INDEX IF NOT EXISTS jobs_kind_started ON jobs(kind, started_ms);";
  char* err = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::Io("job history " + path + ": " + msg);
  }
  ::chmod(path.c_str(), 0600);
  return std::unique_ptr<JobStore>(new JobStore(db));
}

JobStore::~JobStore() {
  sqlite3_close(db_);
}

Status JobStore::Insert(const JobRecord& job) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO jobs(id, kind, routine, type, status, started_ms, "
                         "finished_ms, detail) VALUES(?,?,?,?,?,?,?,?)",
                         -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "insert");
  }
  std::string detail =
      job.detail.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  sqlite3_bind_int64(st, 1, job.id);
  sqlite3_bind_text(st, 2, Name(job.kind).data(), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, job.routine.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, Name(job.type).data(), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, Name(job.status).data(), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, job.started_ms);
  sqlite3_bind_int64(st, 7, job.finished_ms);
  sqlite3_bind_text(st, 8, detail.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "insert");
  return Status::Ok();
}

Status JobStore::Update(const JobRecord& job) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "UPDATE jobs SET status=?, finished_ms=?, detail=? WHERE id=?", -1,
                         &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "update");
  }
  std::string detail =
      job.detail.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  sqlite3_bind_text(st, 1, Name(job.status).data(), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, job.finished_ms);
  sqlite3_bind_text(st, 3, detail.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, job.id);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "update");
  return Status::Ok();
}

Result<std::vector<JobRecord>> JobStore::Query(const std::string& sql,
                                               const std::vector<std::string>& text_args,
                                               const std::vector<int64_t>& int_args) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "query");
  }
  int i = 1;
  for (const auto& t : text_args)
    sqlite3_bind_text(st, i++, t.c_str(), -1, SQLITE_TRANSIENT);
  for (int64_t v : int_args)
    sqlite3_bind_int64(st, i++, v);
  std::vector<JobRecord> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    JobRecord j;
    auto text = [&](int c) {
      const unsigned char* p = sqlite3_column_text(st, c);
      return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    };
    j.id = sqlite3_column_int64(st, 0);
    // A row this version cannot read (written by a newer one) is left out, not guessed at.
    auto kind = ParseJobKind(text(1));
    auto type = ParseJobType(text(3));
    auto status = ParseJobStatus(text(4));
    if (!kind || !type || !status) continue;
    j.kind = *kind;
    j.routine = text(2);
    j.type = *type;
    j.status = *status;
    j.started_ms = sqlite3_column_int64(st, 5);
    j.finished_ms = sqlite3_column_int64(st, 6);
    j.detail = nlohmann::ordered_json::parse(text(7), nullptr, false);
    if (j.detail.is_discarded()) j.detail = nlohmann::ordered_json::object();
    out.push_back(std::move(j));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "query");
  return out;
}

constexpr const char* kColumns =
    "SELECT id, kind, routine, type, status, started_ms, finished_ms, detail FROM jobs ";

Result<std::optional<JobRecord>> JobStore::Get(int64_t id) {
  ABS_ASSIGN_OR_RETURN(auto rows, Query(std::string(kColumns) + "WHERE id=?", {}, {id}));
  if (rows.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(std::move(rows[0]));
}

Result<std::vector<JobRecord>> JobStore::List(JobKind kind, int64_t from_ms, int64_t to_ms) {
  return Query(std::string(kColumns) +
                   "WHERE kind=? AND started_ms>=? AND (?=0 OR started_ms<=?) ORDER BY "
                   "started_ms, id",
               {std::string(Name(kind))}, {from_ms, to_ms, to_ms});
}

Result<std::vector<JobRecord>> JobStore::Running() {
  return Query(std::string(kColumns) + "WHERE status='running' ORDER BY started_ms", {}, {});
}

}  // namespace absvc::jobs
