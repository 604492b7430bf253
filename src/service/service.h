// absd's facade: the configuration in force and the runs in progress, over parts with
// one job each — the schedule and scheduler loop, the backup runner, restore planning and
// the restore runner, cluster connections, crash recovery, readiness, metrics and the job
// history. The HTTP layer (http_api.h) only translates requests into these calls; an
// edit by entry (config/edits.h) is applied through EditConfig.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup_job.h"
#include "client/client.h"
#include "common/clock.h"
#include "common/semaphore.h"
#include "config/config.h"
#include "config/source.h"
#include "jobs/job_store.h"
#include "restore/restore_job.h"
#include "service/clusters.h"
#include "service/coverage.h"
#include "service/ownership.h"
#include "service/readiness.h"
#include "service/recovery.h"
#include "service/schedule.h"
#include "storage/registry.h"
#include "storage/storage.h"

namespace absvc::service {

using jobs::JobKind;
using jobs::JobRecord;
using jobs::JobStatus;
using jobs::JobStore;
using jobs::JobType;

struct ServiceOptions {
  std::string config_path;  // where PUT /v1/config persists; empty = not persisted
  std::string state_dir;    // job history
  std::string version = "dev";
  // Where the configuration is read and edits persist, when not config_path: the storage
  // object of absd -r (config/source.h).
  std::shared_ptr<ConfigSource> config_source = nullptr;
  // How long a run's claim and lock stay valid without a heartbeat, for instances on
  // other machines sharing the storage; heartbeats come every quarter of it.
  int64_t run_lease_ms = 60000;
  // The scheduler's calendar, backup directory names and retry pauses; a FakeClock in
  // tests. Leases and heartbeats between processes always use real time.
  Clock* clock = &Clock::Real();
  // Stop waits at most this long for running jobs to let go (within systemd's default
  // 90 s and Kubernetes' default 30 s grace period); what is still running then is left
  // as after a crash, and resumes the same way.
  int64_t stop_timeout_ms = 20000;
};

class Metrics;
class RestoreRunner;
class BackupRunner;
struct BackupRun;
struct RestoreRun;

class Service {
 public:
  static Result<std::unique_ptr<Service>> Create(ServiceOptions options, Config config);
  ~Service();

  // Cleans up after jobs a previous process left running, then starts the scheduler.
  Status Start();
  // Cancels running jobs and waits for them.
  // A graceful stop: running backups keep what they wrote and stay resumable (the next
  // start goes on from their checkpoints), restores are cancelled; returns within
  // stop_timeout_ms: false when jobs were still running then (the process should exit
  // without destroying the service; the destructor waits for them).
  bool Stop();

  std::shared_ptr<const Config> config() const;
  const ServiceOptions& options() const { return options_; }
  // Validates the whole document, persists it and applies it; on error nothing changes.
  // Secrets sent back as "[secret]" keep their stored values.
  Status ReplaceConfig(const Json& document);
  // Read-modify-write of the document, serialized with every other config change; the
  // result is validated, persisted and applied, or nothing changes.
  Status EditConfig(const std::function<Status(Json&)>& edit);
  // Re-reads the configuration file (after an external edit).
  Status ReloadConfigFile();

  // On-demand backups. kConflict when one of that type is running (or, for an
  // incremental, any backup of the routine unless concurrent-incremental is set).
  Status TriggerBackup(const std::string& routine, bool incremental, int64_t delay_ms);
  // Cancels the routine's running backups; their partial files are removed. kNotFound
  // when nothing runs.
  Status CancelBackups(const std::string& routine);
  Result<Json> CurrentBackup(const std::string& routine);
  // BackupDetails lists; an empty routine means every routine ({routine: [...]}).
  // GET /v1/retrieve/configuration: the cluster configuration saved with the routine's
  // latest full backup at or before `time_ms`, as a zip of aerospike_<i>.conf.
  Result<std::string> ClusterConfigurationArchive(const std::string& routine, int64_t time_ms);
  Result<Json> ListBackups(bool incremental, const std::string& routine, int64_t from_ms,
                           int64_t to_ms);

  // GET /v1/coverage/{routine}: the routine's backup sets and the partitions each covers,
  // misses or covers twice, from every instance's runs in the routine's storage.
  Result<Json> Coverage(const std::string& routine, const CoverageQuery& query);
  // GET /v1/backups/jobs: backup jobs of this instance's job history, started within
  // [from, to] (0 = unbounded), by id; the newest `limit`.
  Result<Json> BackupJobs(int64_t from_ms, int64_t to_ms, int64_t limit);

  // kind: full, incremental or timestamp. Returns the job id.
  Result<int64_t> StartRestore(const Json& body, const std::string& kind);
  Result<Json> RestoreStatus(int64_t id);
  Result<Json> RestoreJobs(int64_t from_ms, int64_t to_ms, const std::string& status_filter);
  Status CancelRestore(int64_t id);

  Readiness CheckReady();
  // POST /v1/config/{clusters|storage}/check-connectivity: the entry in the body is
  // validated like the configuration and probed once; nothing is kept.
  Status CheckConnectivity(const std::string& section, const Json& entry);
  std::string MetricsText();

  // Opens the named storage of the configuration in force.
  // Through the registry, counted in the service's storage metrics; `cancel` ends its
  // data transfers (storage::OpenOptions::cancel).
  Result<std::shared_ptr<storage::Storage>> OpenStorage(const StorageConfig& s, bool retries = true,
                                                        const std::atomic<bool>* cancel = nullptr);

 private:
  Service(ServiceOptions options, Config config, std::unique_ptr<JobStore> jobs);
  Status ApplyLocked(Config cfg);
  void SchedulerLoop();
  Status StartBackupLocked(const std::string& routine, bool incremental, int64_t delay_ms,
                           bool scheduled, std::unique_ptr<RunLock> lock = nullptr);
  // The lock in the routine's storage that keeps one slice's backup single across every
  // instance sharing that storage.
  Result<std::unique_ptr<RunLock>> AcquireRunLock(const Config& cfg, const std::string& routine,
                                                  bool incremental);
  // Interrupted backups that go on from their checkpoints (CrashRecovery found them).
  void ResumeInterruptedBackupsLocked(const std::vector<InterruptedBackup>& backups);
  void Launch(std::function<void()> fn);

  ServiceOptions options_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<Metrics> metrics_;
  std::shared_ptr<storage::StorageStats> storage_stats_ = std::make_shared<storage::StorageStats>();

  std::mutex config_write_mu_;  // taken before mu_, never inside it
  mutable std::mutex mu_;
  std::condition_variable scheduler_cv_;
  std::shared_ptr<const Config> config_;
  struct RoutineRuntime {
    std::shared_ptr<BackupRun> full;
    std::shared_ptr<BackupRun> incremental;
    int64_t last_full_ms = 0;
    int64_t last_incremental_ms = 0;
    // A trigger taking the storage lock (outside mu_): the scheduler leaves that kind
    // alone meanwhile rather than race it.
    bool full_starting = false;
    bool incremental_starting = false;
  };
  std::map<std::string, RoutineRuntime> routines_;
  BackupSchedule schedule_;  // guarded by mu_
  bool stopping_ = false;
  std::thread scheduler_;

  ClusterConnections clusters_;
  std::unique_ptr<RestoreRunner> restores_;
  std::unique_ptr<BackupRunner> backups_;

  std::mutex threads_mu_;
  std::condition_variable threads_cv_;
  int active_threads_ = 0;
};

// HTTP status for a Status from the service.
int HttpStatusOf(const Status& st);

}  // namespace absvc::service
