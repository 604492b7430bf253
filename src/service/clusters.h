// Connections to the configured clusters, shared by every job: one client per cluster
// and configuration (a job holding an older configuration never gets a client for a
// different cluster), and each cluster's max-parallel-scans as a semaphore its scans share.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "client/client.h"
#include "common/semaphore.h"
#include "common/status.h"
#include "config/config.h"

namespace absvc::service {

// The client options a cluster block describes (seeds, login, TLS, racks, timeouts).
Result<client::ClientOptions> ClientOptionsFor(const ClusterConfig& c);

class ClusterConnections {
 public:
  // A connected client for cluster `name` as `c` describes it; connects (outside the
  // lock) when there is none, or the one there lost every node.
  Result<std::shared_ptr<client::Client>> ClientFor(const std::string& name,
                                                    const ClusterConfig& c);
  // The cluster's scan permits; a new semaphore when max-parallel-scans changed.
  std::shared_ptr<Semaphore> ScanSlots(const std::string& cluster, int64_t permits);

 private:
  std::mutex mu_;
  struct CachedClient {
    std::string fingerprint;
    std::shared_ptr<client::Client> client;
  };
  std::map<std::string, CachedClient> clients_;
  std::map<std::string, std::pair<int64_t, std::shared_ptr<Semaphore>>> scan_slots_;
};

}  // namespace absvc::service
