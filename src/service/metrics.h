// absd's Prometheus metrics: the original service's names (backup events by routine, type
// and outcome; durations; progress; restores) and the deprecated per-routine counters it
// still exports, so existing dashboards and alerts keep working.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <memory>
#include <string>
#include <string_view>

#include "jobs/job.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::service {

using jobs::JobStatus;

class Metrics {
 public:
  Metrics()
      : registry_(std::make_shared<prometheus::Registry>()),
        events_(Counter("aerospike_backup_service_backup_events_total",
                        "Backup runs by routine, type and outcome")),
        duration_(prometheus::BuildHistogram()
                      .Name("aerospike_backup_service_backup_duration_seconds")
                      .Help("Duration of successful backup runs")
                      .Register(*registry_)),
        in_progress_(Gauge("aerospike_backup_service_backup_in_progress",
                           "1 while a backup of the routine and type runs")),
        progress_pct_(Gauge("aerospike_backup_service_backup_progress_pct",
                            "Progress of the running backup, 0-100")),
        last_success_(Gauge("aerospike_backup_service_last_successful_backup_timestamp",
                            "Start (unix seconds) of the last successful backup")),
        restore_events_(
            Counter("aerospike_backup_service_restore_events_total", "Restore jobs by outcome")),
        restore_in_progress_(
            Gauge("aerospike_backup_service_restore_in_progress", "Restore jobs running")),
        backup_records_(
            Counter("aerospike_backup_service_backup_records_total", "Records written by backups")),
        backup_bytes_(Counter("aerospike_backup_service_backup_bytes_total",
                              "Bytes stored by backups (after compression and encryption)")),
        restore_records_(
            Counter("aerospike_backup_service_restore_records_total", "Records read by restores")),
        restore_bytes_(Counter("aerospike_backup_service_restore_bytes_total",
                               "Stored bytes read by restores")),
        runs_(Counter("aerospike_backup_service_runs_total", "Deprecated: successful full runs")),
        incr_runs_(Counter("aerospike_backup_service_incremental_runs_total",
                           "Deprecated: successful incremental runs")),
        failures_(
            Counter("aerospike_backup_service_failure_total", "Deprecated: failed full runs")),
        incr_failures_(Counter("aerospike_backup_service_incremental_failure_total",
                               "Deprecated: failed incremental runs")),
        skips_(Counter("aerospike_backup_service_skip_total", "Deprecated: skipped full runs")),
        incr_skips_(Counter("aerospike_backup_service_incremental_skip_total",
                            "Deprecated: skipped incremental runs")),
        duration_ms_(Gauge("aerospike_backup_service_duration_millis",
                           "Deprecated: duration of the last full run")),
        incr_duration_ms_(Gauge("aerospike_backup_service_incremental_duration_millis",
                                "Deprecated: duration of the last incremental run")) {
    restore_in_progress_.Add({}).Set(0);
  }

  // `outcome`: a job status, or "retry".
  void BackupEvent(const std::string& routine, bool incremental, std::string_view outcome) {
    events_
        .Add({{"routine", routine}, {"type", Type(incremental)}, {"outcome", std::string(outcome)}})
        .Increment();
    prometheus::Family<prometheus::Counter>* legacy = nullptr;
    if (outcome == jobs::Name(JobStatus::kSuccess)) legacy = incremental ? &incr_runs_ : &runs_;
    if (outcome == jobs::Name(JobStatus::kFailure))
      legacy = incremental ? &incr_failures_ : &failures_;
    if (outcome == jobs::Name(JobStatus::kSkip)) legacy = incremental ? &incr_skips_ : &skips_;
    if (legacy) legacy->Add({{"routine", routine}}).Increment();
  }
  void BackupSucceeded(const std::string& routine, bool incremental, int64_t start_ms,
                       double seconds) {
    duration_
        .Add({{"routine", routine}, {"type", Type(incremental)}},
             prometheus::Histogram::BucketBoundaries{1, 5, 15, 60, 300, 900, 3600, 10800, 43200})
        .Observe(seconds);
    last_success_.Add({{"routine", routine}, {"type", Type(incremental)}})
        .Set(static_cast<double>(start_ms) / 1000.0);
    (incremental ? incr_duration_ms_ : duration_ms_)
        .Add({{"routine", routine}})
        .Set(seconds * 1000.0);
  }
  void BackupBytes(const std::string& routine, bool incremental, uint64_t records, uint64_t bytes) {
    backup_records_.Add({{"routine", routine}, {"type", Type(incremental)}})
        .Increment(static_cast<double>(records));
    backup_bytes_.Add({{"routine", routine}, {"type", Type(incremental)}})
        .Increment(static_cast<double>(bytes));
  }
  void BackupRunning(const std::string& routine, bool incremental, bool running, double pct) {
    in_progress_.Add({{"routine", routine}, {"type", Type(incremental)}}).Set(running ? 1 : 0);
    progress_pct_.Add({{"routine", routine}, {"type", Type(incremental)}}).Set(pct);
  }
  void RestoreEvent(JobStatus outcome, uint64_t records, uint64_t bytes) {
    restore_events_.Add({{"outcome", std::string(jobs::Name(outcome))}}).Increment();
    restore_records_.Add({}).Increment(static_cast<double>(records));
    restore_bytes_.Add({}).Increment(static_cast<double>(bytes));
  }
  void RestoresRunning(int n) { restore_in_progress_.Add({}).Set(n); }

  std::string Text() {
    prometheus::TextSerializer s;
    return s.Serialize(registry_->Collect());
  }

 private:
  static std::string Type(bool incremental) { return incremental ? "incremental" : "full"; }
  prometheus::Family<prometheus::Counter>& Counter(const std::string& name,
                                                   const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
  }
  prometheus::Family<prometheus::Gauge>& Gauge(const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& in_progress_;
  prometheus::Family<prometheus::Gauge>& progress_pct_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& restore_events_;
  prometheus::Family<prometheus::Gauge>& restore_in_progress_;
  prometheus::Family<prometheus::Counter>& backup_records_;
  prometheus::Family<prometheus::Counter>& backup_bytes_;
  prometheus::Family<prometheus::Counter>& restore_records_;
  prometheus::Family<prometheus::Counter>& restore_bytes_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& incr_runs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& incr_failures_;
  prometheus::Family<prometheus::Counter>& skips_;
  prometheus::Family<prometheus::Counter>& incr_skips_;
  prometheus::Family<prometheus::Gauge>& duration_ms_;
  prometheus::Family<prometheus::Gauge>& incr_duration_ms_;
};

// The storage requests, failures, time and bytes of every storage this instance opened.
std::string StorageMetricsText(const storage::StorageStats& stats);

}  // namespace absvc::service
