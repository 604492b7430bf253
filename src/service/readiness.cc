// Readiness (/ready): every cluster and storage the configuration names, each checked
// within its time bound.
#include "service/readiness.h"

#include <set>

namespace absvc::service {

Readiness CheckReadiness(const Config& config, ClusterConnections& connections,
                         const StorageOpener& open_storage_once) {
  Readiness r;
  const Config* cfg = &config;
  std::set<std::string> clusters, storages;
  for (const auto& [name, routine] : cfg->routines) {
    if (routine.disabled) continue;
    clusters.insert(routine.source_cluster);
    storages.insert(routine.storage);
  }
  for (const auto& name : storages) {
    const StorageConfig& s = cfg->storage.at(name);
    // One attempt each: probes (Kubernetes, systemd) time out in seconds.
    auto st = open_storage_once(s);
    Status reachable = st.ok() ? (*st)->Probe() : st.status();
    if (!reachable.ok()) r.problems.push_back("storage " + name + ": " + reachable.message());
  }
  for (const auto& name : clusters) {
    // Probes (Kubernetes, systemd) time out in seconds: an unreachable seed must not hold
    // /ready for the whole conn-timeout.
    ClusterConfig probe = cfg->clusters.at(name);
    probe.conn_timeout_ms = std::min<int64_t>(probe.conn_timeout_ms, 2000);
    auto c = connections.ClientFor(name, probe);
    if (!c.ok()) {
      r.problems.push_back("cluster " + name + ": " + c.status().message());
    } else if ((*c)->Nodes().empty()) {
      r.problems.push_back("cluster " + name + ": no node reachable");
    }
  }
  r.ready = r.problems.empty();
  return r;
}

}  // namespace absvc::service
