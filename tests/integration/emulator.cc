#include "emulator.h"

#include "test_cluster.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace absvc::testing {

Result<std::unique_ptr<Emulator>> Emulator::Start(const std::string& script,
                                                  const std::vector<std::string>& args) {
  std::string path = std::string(ABS_SOURCE_DIR) + "/tests/emulators/" + script;
  std::vector<std::string> argv_s = {"node", path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  ABS_ASSIGN_OR_RETURN(Spawned child, SpawnWithStdout(argv_s));
  const int child_out = child.stdout_fd;
  std::unique_ptr<Emulator> e(new Emulator());
  e->pid_ = child.pid;
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{child_out, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(child_out, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(child_out);
  auto j = nlohmann::json::parse(text.substr(0, text.find('\n')), nullptr, false);
  if (!j.is_object() || !j.contains("port") || !j["port"].is_number_integer()) {
    return Status::Internal("emulator " + script +
                            " did not start (is node there, and npm ci done?): '" + text + "'");
  }
  e->port_ = j["port"].get<int>();
  e->info_ = text.substr(0, text.find('\n'));
  return e;
}

Emulator::~Emulator() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

}  // namespace absvc::testing
