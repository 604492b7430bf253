#include "emulator.h"

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
  int out[2];
  if (::pipe(out) != 0) return Status::Internal("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    for (auto& s : argv_s)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execvp("node", argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::unique_ptr<Emulator> e(new Emulator());
  e->pid_ = pid;
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
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
