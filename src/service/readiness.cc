// Readiness (/ready) and the check-connectivity endpoints: clusters and storages, each
// checked once within a time bound that probes (Kubernetes, systemd) can wait for.
#include "service/readiness.h"

#include <set>

#include "client/client.h"

namespace absvc::service {
namespace {

// An unreachable seed must not hold a probe for the whole conn-timeout.
constexpr int64_t kProbeConnectMs = 2000;

// Parses one entry of `section` as the configuration would (strictly, secrets resolved,
// Secret Agent references through the configured agents).
Result<Config> ConfigWithOneEntry(const std::string& section, const Json& entry,
                                  const Json& secret_agents) {
  if (!entry.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  Json document = Json::object();
  if (secret_agents.is_object()) document["secret-agents"] = secret_agents;
  document[section] = Json::object({{"check", entry}});
  return ParseConfig(document);
}

}  // namespace

Status ProbeStorage(const StorageConfig& s, const StorageOpener& open_storage_once) {
  auto storage = open_storage_once(s);
  return storage.ok() ? (*storage)->Probe() : storage.status();
}

Status ProbeCluster(const std::string& name, const ClusterConfig& cluster,
                    ClusterConnections* connections) {
  ClusterConfig probe = cluster;
  probe.conn_timeout_ms = std::min<int64_t>(probe.conn_timeout_ms, kProbeConnectMs);
  std::shared_ptr<client::Client> client;
  if (connections) {
    ABS_ASSIGN_OR_RETURN(client, connections->ClientFor(name, probe));
  } else {
    ABS_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(probe));
    ABS_ASSIGN_OR_RETURN(auto own, client::Client::Connect(std::move(options)));
    client = std::move(own);
  }
  if (client->Nodes().empty()) return Status::Unavailable("no node reachable");
  return Status::Ok();
}

Readiness CheckReadiness(const Config& config, ClusterConnections& connections,
                         const StorageOpener& open_storage_once) {
  Readiness r;
  std::set<std::string> clusters, storages;
  for (const auto& [name, routine] : config.routines) {
    if (routine.disabled) continue;
    clusters.insert(routine.source_cluster);
    storages.insert(routine.storage);
  }
  for (const auto& name : storages) {
    Status st = ProbeStorage(config.storage.at(name), open_storage_once);
    if (!st.ok()) r.problems.push_back("storage " + name + ": " + st.message());
  }
  for (const auto& name : clusters) {
    Status st = ProbeCluster(name, config.clusters.at(name), &connections);
    if (!st.ok()) {
      r.problems.push_back("cluster " + ClusterTitle(name, config.clusters.at(name)) + ": " +
                           st.message());
    }
  }
  r.ready = r.problems.empty();
  return r;
}

Status CheckClusterConnectivity(const Json& entry, const Json& secret_agents) {
  ABS_ASSIGN_OR_RETURN(Config config,
                       ConfigWithOneEntry("aerospike-clusters", entry, secret_agents));
  return ProbeCluster("check", config.clusters.at("check"), nullptr);
}

Status CheckStorageConnectivity(const Json& entry, const Json& secret_agents,
                                const StorageOpener& open_storage_once) {
  ABS_ASSIGN_OR_RETURN(Config config, ConfigWithOneEntry("storage", entry, secret_agents));
  Status st = ProbeStorage(config.storage.at("check"), open_storage_once);
  // A valid entry whose storage cannot be reached (refused, missing bucket, denied) is the
  // storage's failure, not the request's: 503, as documented.
  if (!st.ok() && st.code() != StatusCode::kInvalidArgument) {
    return Status::Unavailable(st.message());
  }
  return st;
}

}  // namespace absvc::service
