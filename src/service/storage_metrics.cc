// The storage requests, failures, time and bytes of every storage this instance opened,
// in Prometheus text.
#include "backupset/catalog.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/text.h"
#include "service/metrics.h"
#include "service/runs.h"
#include "service/service.h"

namespace absvc::service {

// Requests to storage (every attempt, by operation), their failures and time, and the
// bytes moved, over all storages this instance opened.
std::string StorageMetricsText(const storage::StorageStats& stats) {
  std::string out =
      "# HELP abs_storage_requests_total Requests to storage, each attempt counted.\n"
      "# TYPE abs_storage_requests_total counter\n";
  std::string errors =
      "# HELP abs_storage_errors_total Requests to storage that failed.\n"
      "# TYPE abs_storage_errors_total counter\n";
  std::string seconds =
      "# HELP abs_storage_request_seconds_total Time spent in requests to storage.\n"
      "# TYPE abs_storage_request_seconds_total counter\n";
  for (int op = 0; op < storage::StorageStats::kOps; ++op) {
    std::string label = std::string("{op=\"") + storage::StorageStats::OpName(op) + "\"} ";
    out += "abs_storage_requests_total" + label + std::to_string(stats.requests[op].load()) + "\n";
    errors += "abs_storage_errors_total" + label + std::to_string(stats.errors[op].load()) + "\n";
    seconds += "abs_storage_request_seconds_total" + label +
               std::to_string(static_cast<double>(stats.micros[op].load()) / 1e6) + "\n";
  }
  out += errors + seconds +
         "# HELP abs_storage_bytes_total Bytes written to and read from storage.\n"
         "# TYPE abs_storage_bytes_total counter\n"
         "abs_storage_bytes_total{direction=\"write\"} " +
         std::to_string(stats.bytes_written.load()) +
         "\nabs_storage_bytes_total{direction=\"read\"} " +
         std::to_string(stats.bytes_read.load()) + "\n";
  return out;
}

}  // namespace absvc::service
