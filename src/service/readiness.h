// Readiness (/ready): every cluster and storage the enabled routines use, each checked
// within a time bound that probes (Kubernetes, systemd) can wait for.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "service/clusters.h"
#include "service/runs.h"

namespace absvc::service {

struct Readiness {
  bool ready = false;
  std::vector<std::string> problems;  // one per cluster or storage not reachable
};

// `open_storage_once` opens a storage for one attempt, without retries.
Readiness CheckReadiness(const Config& config, ClusterConnections& connections,
                         const StorageOpener& open_storage_once);

// One attempt at a storage: opened and its root listed.
Status ProbeStorage(const StorageConfig& storage, const StorageOpener& open_storage_once);
// A cluster reached within min(conn-timeout, 2 s), with at least one node answering:
// through the shared connection when `name` is configured, else with a client of its own.
Status ProbeCluster(const std::string& name, const ClusterConfig& cluster,
                    ClusterConnections* connections);

// The check-connectivity endpoints: a cluster or storage entry (the body of a config
// create), validated like the configuration, then probed. Nothing is kept.
// `secret_agents`: the configuration's secret-agents section, which references in the
// entry resolve through.
Status CheckClusterConnectivity(const Json& entry, const Json& secret_agents);
Status CheckStorageConnectivity(const Json& entry, const Json& secret_agents,
                                const StorageOpener& open_storage_once);

}  // namespace absvc::service
