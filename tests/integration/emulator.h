// A storage emulator (tests/emulators/*.js, run by node) started for a test: on
// 127.0.0.1, on a port it picks, stopped by its pid when the test ends.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::testing {

class Emulator {
 public:
  // Runs `node tests/emulators/<script> args...` and waits for its {"port": N} line.
  static Result<std::unique_ptr<Emulator>> Start(const std::string& script,
                                                 const std::vector<std::string>& args);
  ~Emulator();
  int port() const { return port_; }
  // Everything the emulator printed on its first line (port, and what else it tells).
  const std::string& info() const { return info_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string info_;
};

}  // namespace absvc::testing
