#include "jobs/job.h"

#include <array>
#include <utility>

namespace absvc::jobs {
namespace {

template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<JobKind, 2> kKinds = {
    {{JobKind::kBackup, "backup"}, {JobKind::kRestore, "restore"}}};
constexpr Names<JobType, 3> kTypes = {{{JobType::kFull, "full"},
                                       {JobType::kIncremental, "incremental"},
                                       {JobType::kTimestamp, "timestamp"}}};
constexpr Names<JobStatus, 5> kStatuses = {{{JobStatus::kRunning, "running"},
                                            {JobStatus::kSuccess, "success"},
                                            {JobStatus::kFailure, "failure"},
                                            {JobStatus::kCanceled, "canceled"},
                                            {JobStatus::kSkip, "skip"}}};

template <typename E, size_t N>
std::string_view NameIn(const Names<E, N>& names, E value) {
  for (const auto& [e, name] : names)
    if (e == value) return name;
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> ParseIn(const Names<E, N>& names, std::string_view text) {
  for (const auto& [e, name] : names)
    if (name == text) return e;
  return std::nullopt;
}

}  // namespace

std::string_view Name(JobKind kind) {
  return NameIn(kKinds, kind);
}
std::string_view Name(JobType type) {
  return NameIn(kTypes, type);
}
std::string_view Name(JobStatus status) {
  return NameIn(kStatuses, status);
}
std::optional<JobKind> ParseJobKind(std::string_view text) {
  return ParseIn(kKinds, text);
}
std::optional<JobType> ParseJobType(std::string_view text) {
  return ParseIn(kTypes, text);
}
std::optional<JobStatus> ParseJobStatus(std::string_view text) {
  return ParseIn(kStatuses, text);
}

}  // namespace absvc::jobs
