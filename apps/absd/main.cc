// absd: the backup service. Reads an ABS configuration file, serves ABS's REST API and
// runs scheduled and on-demand backups and restores.
#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/log.h"
#include "common/memory_budget.h"
#include "http/http_api.h"
#include "service/service.h"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reopen_log{false};
void OnSignal(int) {
  g_stop = true;
}
// SIGHUP and SIGUSR1: what log-rotating tools send daemons; never a reason to stop.
void OnReopenSignal(int) {
  g_reopen_log = true;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace absvc;
  CLI::App app{"absd - Aerospike backup service"};
  std::string config_path, state_dir;
  bool show_version = false, remote = false;
  app.add_option("-c,--config", config_path, "aerospike-backup-service.yml");
  app.add_flag("-r,--remote", remote,
               "--config names a file holding one storage definition (local-storage, "
               "s3-storage, gcp-storage or azure-storage) whose path is the configuration "
               "object; edits are written back there");
  app.add_option("--state-dir", state_dir,
                 "where job history is kept (default: absd-state beside the config file)");
  app.add_flag("-v,--version", show_version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  const std::string version = ABS_VERSION;
  if (show_version) {
    std::cout << "absd " << version << "\n";
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "absd: --config is required\n";
    return 2;
  }
  std::shared_ptr<service::ConfigSource> source;
  if (remote) {
    auto opened = service::RemoteConfig(config_path);
    if (!opened.ok()) {
      std::cerr << "absd: " << opened.status().message() << "\n";
      return 2;
    }
    source = std::move(opened).value();
  } else {
    source = service::ConfigFile(config_path);
  }
  auto cfg = source->Load();
  if (!cfg.ok()) {
    std::cerr << "absd: " << cfg.status().message() << "\n";
    return 2;
  }
  {
    const auto& l = cfg->service.logger;
    LogOptions log;
    log.level = l.level;
    log.json = l.format == "JSON";
    log.to_stdout = l.stdout_writer;
    log.file = l.file;
    log.file_max_bytes = static_cast<size_t>(l.file_max_size_mb) << 20;
    log.file_max_backups = static_cast<size_t>(l.file_max_backups);
    log.file_max_age_days = static_cast<int>(l.file_max_age_days);
    log.file_compress = l.file_compress;
    std::string error;
    if (!ConfigureLogging(log, &error)) {
      std::cerr << "absd: " << error << "\n";
      return 2;
    }
  }
  for (const auto& w : cfg->warnings)
    ABS_LOG_WARN("configuration: {}", w);
  if (state_dir.empty()) {
    auto slash = config_path.rfind('/');
    state_dir = (slash == std::string::npos ? std::string(".") : config_path.substr(0, slash)) +
                "/absd-state";
  }
  const auto http = cfg->service.http;
  const auto https = cfg->service.https;
  std::shared_ptr<service::HttpsContext> tls;
  if (https) {
    auto loaded = service::HttpsContext::Create(*https);
    if (!loaded.ok()) {
      std::cerr << "absd: " << loaded.status().message() << "\n";
      return 2;
    }
    tls = std::move(loaded).value();
  }
  service::ServiceOptions options{config_path, state_dir, version};
  options.config_source = source;
  auto svc = service::Service::Create(options, std::move(cfg).value());
  if (!svc.ok()) {
    std::cerr << "absd: " << svc.status().ToString() << "\n";
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  absvc::UseMmapForLargeBuffers();
  std::signal(SIGHUP, OnReopenSignal);
  std::signal(SIGUSR1, OnReopenSignal);
  // Every HTTP connection, cluster connection and open file takes a descriptor: the soft
  // limit (often 1024) is raised to the hard one, which the HTTP caps are sized from.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  Status st = (*svc)->Start();
  if (!st.ok()) {
    std::cerr << "absd: " << st.ToString() << "\n";
    return 1;
  }
  service::HttpApi api(**svc);
  if (!http.disabled) {
    st = api.Start(http.address, http.port);
    if (!st.ok()) {
      std::cerr << "absd: " << st.ToString() << "\n";
      return 1;
    }
    ABS_LOG_INFO("absd {} listening on {}:{}{} (state in {})", version, http.address, api.port(),
                 http.context_path, state_dir);
  }
  if (https) {
    st = api.StartHttps(https->listener.address, https->listener.port, tls);
    if (!st.ok()) {
      std::cerr << "absd: " << st.ToString() << "\n";
      return 1;
    }
    ABS_LOG_INFO("absd {} listening for HTTPS on {}:{}{} (client certificates: {})", version,
                 https->listener.address, api.https_port(), https->listener.context_path,
                 https->client_auth);
  }
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_reopen_log.exchange(false)) {
      ReopenLogFile();
      ABS_LOG_INFO("absd: log file reopened (signal)");
    }
  }
  ABS_LOG_INFO("absd stopping");
  api.Stop();
  if (!(*svc)->Stop()) {
    // Jobs that did not let go in time are left as a crash leaves them (and resume the
    // same way); the process must not wait for them past its stop timeout.
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  ABS_LOG_INFO("absd stopped");
  return 0;
}
