// What a job is, as types: its kind, its type and its status. The names are those of the
// original service's JSON and of the job history, and nothing else compares them as text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace absvc::jobs {

enum class JobKind { kBackup, kRestore };
// Backups are full or incremental; restores full, incremental or to a point in time.
enum class JobType { kFull, kIncremental, kTimestamp };
// kSkip: a triggered backup that did not start (another instance runs that slice).
enum class JobStatus { kRunning, kSuccess, kFailure, kCanceled, kSkip };

std::string_view Name(JobKind kind);      // backup | restore
std::string_view Name(JobType type);      // full | incremental | timestamp
std::string_view Name(JobStatus status);  // running | success | failure | canceled | skip

std::optional<JobKind> ParseJobKind(std::string_view text);
std::optional<JobType> ParseJobType(std::string_view text);
std::optional<JobStatus> ParseJobStatus(std::string_view text);

inline bool IsFinished(JobStatus s) {
  return s != JobStatus::kRunning;
}

}  // namespace absvc::jobs
