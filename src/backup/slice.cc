#include "backup/slice.h"

#include <set>

#include "client/host.h"
#include "wire/info.h"

namespace absvc::backup {

// The backup set's format, as this engine writes it.
using backupset::kPartitions;
using backupset::PartitionSet;

Status Slice::Validate() const {
  int kinds = (partition_list.empty() ? 0 : 1) + (nodes.empty() ? 0 : 1) + (racks.empty() ? 0 : 1);
  if (kinds > 1) {
    return Status::InvalidArgument(
        "partition-list, node-list and rack-list are mutually exclusive; give only one");
  }
  if (!partition_list.empty())
    ABS_RETURN_IF_ERROR(PartitionSet::ParseList(partition_list).status());
  std::set<std::string> seen_nodes;
  for (const auto& n : nodes) {
    if (n.empty()) return Status::InvalidArgument("node-list has an empty entry");
    if (!seen_nodes.insert(n).second)
      return Status::InvalidArgument("node-list repeats '" + n + "'");
  }
  std::set<uint32_t> seen_racks;
  for (uint32_t r : racks) {
    if (!seen_racks.insert(r).second) {
      return Status::InvalidArgument("rack-list repeats rack " + std::to_string(r));
    }
  }
  return Status::Ok();
}

std::string Slice::Describe() const {
  if (!partition_list.empty()) return "partition-list " + partition_list;
  std::string s;
  if (!nodes.empty()) {
    for (const auto& n : nodes)
      s += (s.empty() ? "node-list " : ",") + n;
    return s;
  }
  if (!racks.empty()) {
    for (uint32_t r : racks)
      s += (s.empty() ? "rack-list " : ",") + std::to_string(r);
    return s;
  }
  return "whole namespace";
}

namespace {

// Does node `node` answer to the node-list entry `entry`?
bool NodeMatches(client::Client& c, client::Node& node, const std::string& entry) {
  if (entry == node.name()) return true;
  auto host = client::ParseHost(entry);
  if (!host.ok()) return false;
  if (host->name == node.host().name && host->port == node.host().port) return true;
  // The addresses the node advertises (what an operator sees in asadm).
  auto service = c.Info(node.name(), "service-clear-std");
  if (!service.ok()) return false;
  std::string endpoint = host->name + ":" + std::to_string(host->port);
  size_t start = 0;
  const std::string& list = *service;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (list.compare(start, comma - start, endpoint) == 0) return true;
    start = comma + 1;
  }
  return false;
}

Result<PartitionSet> MasteredBy(client::Client& c, const std::string& ns,
                                const std::set<std::string>& node_names) {
  auto table = c.cluster().partitions();
  if (!table->namespaces.count(ns)) {
    return Status::NotFound("namespace '" + ns + "' is not in the cluster");
  }
  PartitionSet set;
  for (uint32_t p = 0; p < kPartitions; ++p) {
    auto master = table->Master(ns, p);
    if (master && node_names.count(master->name())) set.Add(p);
  }
  return set;
}

}  // namespace

Result<PartitionSet> ResolveSlice(client::Client& c, const std::string& ns, const Slice& slice) {
  ABS_RETURN_IF_ERROR(slice.Validate());
  if (!slice.partition_list.empty()) return PartitionSet::ParseList(slice.partition_list);
  // Node and rack slices need the partition map as it is now.
  ABS_RETURN_IF_ERROR(c.cluster().TendNow());
  auto nodes = c.Nodes();
  if (!slice.nodes.empty()) {
    std::set<std::string> names;
    for (const auto& entry : slice.nodes) {
      bool found = false;
      for (const auto& node : nodes) {
        if (NodeMatches(c, *node, entry)) {
          names.insert(node->name());
          found = true;
          break;
        }
      }
      if (!found) {
        return Status::NotFound("node-list entry '" + entry +
                                "' matches no active node of the cluster");
      }
    }
    return MasteredBy(c, ns, names);
  }
  if (!slice.racks.empty()) {
    std::map<uint32_t, std::set<std::string>> by_rack;
    for (const auto& node : nodes) {
      auto answer = c.Info(node->name(), "rack-ids");
      if (!answer.ok()) return answer.status();
      if (auto err = wire::ParseInfoError(*answer)) {
        return Status::Unsupported("node " + node->name() + " does not report racks (" +
                                   err->message + "); rack-list needs rack-ids");
      }
      auto racks = wire::ParseRackIds(*answer);
      if (auto it = racks.find(ns); it != racks.end()) by_rack[it->second].insert(node->name());
    }
    std::set<std::string> names;
    for (uint32_t r : slice.racks) {
      auto it = by_rack.find(r);
      if (it == by_rack.end()) {
        return Status::NotFound("rack " + std::to_string(r) + " has no active node for namespace " +
                                ns);
      }
      names.insert(it->second.begin(), it->second.end());
    }
    return MasteredBy(c, ns, names);
  }
  auto table = c.cluster().partitions();
  if (!table->namespaces.count(ns)) {
    return Status::NotFound("namespace '" + ns + "' is not in the cluster");
  }
  return PartitionSet::All();
}

}  // namespace absvc::backup
