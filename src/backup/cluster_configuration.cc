#include "backup/cluster_configuration.h"

#include <algorithm>

#include "wire/info.h"

namespace absvc::backup {
namespace {

constexpr const char* kContexts[] = {"service", "network", "security"};

void RenderStanza(std::string& out, const std::string& name,
                  const std::map<std::string, std::string>& pairs, int depth) {
  const std::string pad(static_cast<size_t>(depth) * 4, ' ');
  out += pad + name + " {\n";
  // Plain keys first, then one sub-stanza per dotted prefix ("heartbeat.mode" ->
  // heartbeat { mode ... }).
  std::map<std::string, std::map<std::string, std::string>> nested;
  for (const auto& [key, value] : pairs) {
    auto dot = key.find('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < key.size()) {
      nested[key.substr(0, dot)][key.substr(dot + 1)] = value;
      continue;
    }
    out += pad + "    " + key + (value.empty() ? "" : " " + value) + "\n";
  }
  for (const auto& [sub, sub_pairs] : nested)
    RenderStanza(out, sub, sub_pairs, depth + 1);
  out += pad + "}\n";
}

std::map<std::string, std::string> Pairs(const std::string& answer) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : wire::ParseKeyValues(answer))
    out[k] = v;
  return out;
}

}  // namespace

std::string RenderAerospikeConf(const NodeConfiguration& node) {
  std::string out = "# Configuration of node " + node.node + " (build " + node.build +
                    "), from get-config, saved by abs with the backup.\n";
  for (const auto& [context, pairs] : node.contexts) {
    out += "\n";
    RenderStanza(out, context, pairs, 0);
  }
  return out;
}

Result<std::vector<NodeConfiguration>> ReadClusterConfiguration(client::Client& client) {
  std::vector<NodeConfiguration> out;
  auto nodes = client.Nodes();
  std::sort(nodes.begin(), nodes.end(),
            [](const auto& a, const auto& b) { return a->name() < b->name(); });
  for (const auto& node : nodes) {
    auto basics = node->Info({"build", "namespaces"});
    if (!basics.ok()) return basics.status().WithContext("configuration of node " + node->name());
    NodeConfiguration conf;
    conf.node = node->name();
    conf.build = (*basics)["build"];
    std::vector<std::string> commands;
    for (const char* context : kContexts)
      commands.push_back(std::string("get-config:context=") + context);
    std::vector<std::string> namespaces;
    for (auto ns : wire::SplitList((*basics)["namespaces"], ';')) {
      namespaces.emplace_back(ns);
      commands.push_back("get-config:context=namespace;id=" + std::string(ns));
    }
    auto answers = node->Info(commands);
    if (!answers.ok()) {
      return answers.status().WithContext("configuration of node " + node->name());
    }
    auto add = [&](const std::string& name, const std::string& command) {
      const std::string& answer = (*answers)[command];
      if (wire::ParseInfoError(answer)) return;  // not this server's (CE has no security)
      conf.contexts.emplace_back(name, Pairs(answer));
    };
    for (const char* context : kContexts)
      add(context, std::string("get-config:context=") + context);
    for (const auto& ns : namespaces)
      add("namespace " + ns, "get-config:context=namespace;id=" + ns);
    out.push_back(std::move(conf));
  }
  if (out.empty()) return Status::Unavailable("no node to read the configuration from");
  return out;
}

Status SaveClusterConfiguration(client::Client& client, storage::Storage& storage,
                                const std::string& run_dir) {
  ABS_ASSIGN_OR_RETURN(auto nodes, ReadClusterConfiguration(client));
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string path =
        run_dir + "/" + kConfigurationDir + "/aerospike_" + std::to_string(i) + ".conf";
    ABS_RETURN_IF_ERROR(storage.PutAtomic(path, RenderAerospikeConf(nodes[i])));
  }
  return Status::Ok();
}

}  // namespace absvc::backup
