// Readiness (/ready): every cluster and storage the enabled routines use, each checked
// within a time bound that probes (Kubernetes, systemd) can wait for.
#pragma once

#include <string>
#include <vector>

#include "service/clusters.h"
#include "service/config.h"
#include "service/runs.h"

namespace absvc::service {

struct Readiness {
  bool ready = false;
  std::vector<std::string> problems;  // one per cluster or storage not reachable
};

// `open_storage_once` opens a storage for one attempt, without retries.
Readiness CheckReadiness(const Config& config, ClusterConnections& connections,
                         const StorageOpener& open_storage_once);

}  // namespace absvc::service
