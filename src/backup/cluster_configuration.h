// with-cluster-configuration: each node's configuration, as the node reports it through
// get-config, saved beside a full backup in aerospike.conf form so an operator can rebuild
// a lost cluster's configuration from the backup set. ABS's layout:
// <run>/configuration/aerospike_<i>.conf, one file per node (i in node-name order).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/status.h"
#include "storage/storage.h"

namespace absvc::backup {

inline constexpr const char* kConfigurationDir = "configuration";

// What one node reported: its name and build, and each get-config context's key=value
// pairs ("service", "network", "security", "namespace <name>").
struct NodeConfiguration {
  std::string node, build;
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> contexts;
};

// Asks every node; a context a node does not answer (security on a server without it) is
// left out, a node that cannot be asked is an error.
Result<std::vector<NodeConfiguration>> ReadClusterConfiguration(client::Client& client);

// aerospike.conf text: one stanza per context; dotted keys ("heartbeat.mode") nest as
// sub-stanzas, so the text reads like the file the node was started from.
std::string RenderAerospikeConf(const NodeConfiguration& node);

// Reads and writes <run_dir>/configuration/aerospike_<i>.conf.
Status SaveClusterConfiguration(client::Client& client, storage::Storage& storage,
                                const std::string& run_dir);

}  // namespace absvc::backup
