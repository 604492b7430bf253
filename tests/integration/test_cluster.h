// The cluster an integration test runs against: an abs-devcluster process started on
// ports the test picked (and stopped by its pid), or the real cluster named by
// ABS_TEST_HOSTS ("host:port,host:port"), in which case fault injection is skipped.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "client/options.h"
#include "common/status.h"

namespace absvc::testing {

struct DevNode {
  std::string id;
  uint16_t port = 0;
  uint32_t rack = 0;
};

struct DevClusterArgs {
  int nodes = 3;
  std::vector<std::string> extra;  // more abs-devcluster flags
};

class TestCluster {
 public:
  // Starts a devcluster unless ABS_TEST_HOSTS is set.
  static Result<std::unique_ptr<TestCluster>> Start(const DevClusterArgs& args = {});
  // Always a devcluster (tests of login, TLS and faults).
  static Result<std::unique_ptr<TestCluster>> StartDevCluster(const DevClusterArgs& args);
  ~TestCluster();

  bool is_devcluster() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::vector<client::Host>& seeds() const { return seeds_; }
  const std::vector<DevNode>& nodes() const { return nodes_; }
  std::string ns() const { return "test"; }
  client::ClientOptions Options() const;

  // Sends a raw info command to devcluster node `node` (no login) and returns the value.
  Result<std::string> RawInfo(int node, const std::string& command) const;

 private:
  pid_t pid_ = -1;
  std::vector<client::Host> seeds_;
  std::vector<DevNode> nodes_;
};

// Path of a binary next to the test executable (build/bin).
std::string SiblingBinary(const std::string& name);

// A port nobody uses on 127.0.0.1, below the kernel's ephemeral range (so a restarted
// server finds it free again); 0 when none can be found.
int FreeLocalPort();

// A child process whose stdout is a pipe this process reads.
struct Spawned {
  pid_t pid = -1;
  int stdout_fd = -1;
};
// Starts argv[0] (looked up in PATH when it has no '/') with argv.
Result<Spawned> SpawnWithStdout(const std::vector<std::string>& argv);

}  // namespace absvc::testing
