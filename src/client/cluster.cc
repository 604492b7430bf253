#include "client/cluster.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "wire/admin.h"
#include "wire/info.h"

namespace absvc::client {

std::shared_ptr<Node> PartitionTable::Master(std::string_view ns, uint32_t pid) const {
  auto it = namespaces.find(ns);
  if (it == namespaces.end()) return nullptr;
  return it->second[pid].replicas[0];
}

std::shared_ptr<Node> PartitionTable::ReadNode(std::string_view ns, uint32_t pid,
                                               const std::vector<uint32_t>& prefer_racks) const {
  auto it = namespaces.find(ns);
  if (it == namespaces.end()) return nullptr;
  const auto& owners = it->second[pid];
  for (uint32_t rack : prefer_racks) {
    for (int i = 0; i < kMaxReplicasTracked; ++i) {
      if (owners.replicas[i] && owners.racks[i] == rack) return owners.replicas[i];
    }
  }
  return owners.replicas[0];
}

Cluster::Cluster(ClientOptions options) : options_(std::move(options)) {}

Cluster::~Cluster() {
  Close();
}

Status Cluster::Connect() {
  if (options_.seeds.empty()) return Status::InvalidArgument("no seed hosts given");
  if (options_.tls.enabled) {
    ABS_ASSIGN_OR_RETURN(tls_, TlsContext::Create(options_.tls));
  }
  std::string credential;
  switch (options_.auth_mode) {
    case AuthMode::kPki:
      if (!options_.tls.enabled || options_.tls.cert_file.empty()) {
        return Status::InvalidArgument(
            "auth-mode PKI logs in with the TLS client certificate: give TLS with a cert-file "
            "and key-file");
      }
      break;
    case AuthMode::kExternal:
      if (!options_.tls.enabled && !options_.allow_clear_password_without_tls) {
        return Status::InvalidArgument(
            "auth-mode EXTERNAL sends the password in clear text: it needs TLS to the cluster");
      }
      if (options_.user.empty()) return Status::InvalidArgument("auth-mode EXTERNAL needs a user");
      [[fallthrough]];
    case AuthMode::kInternal:
      if (!options_.user.empty()) {
        ABS_ASSIGN_OR_RETURN(credential, wire::HashPasswordCredential(options_.password));
      } else if (!options_.password.empty()) {
        return Status::InvalidArgument("a password was given without a user");
      }
      break;
  }
  session_ = std::make_shared<Session>(
      options_.auth_mode, options_.auth_mode == AuthMode::kPki ? std::string() : options_.user,
      credential, options_.auth_mode == AuthMode::kExternal ? options_.password : std::string());
  ABS_RETURN_IF_ERROR(SeedNodes());
  ABS_RETURN_IF_ERROR(Tend());
  tend_thread_ = std::thread([this] { TendLoop(); });
  return Status::Ok();
}

void Cluster::Close() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (tend_thread_.joinable()) tend_thread_.join();
}

std::vector<std::shared_ptr<Node>> Cluster::Nodes() const {
  std::lock_guard lock(mu_);
  return nodes_;
}

std::shared_ptr<Node> Cluster::FindNode(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& n : nodes_) {
    if (n->name() == name) return n;
  }
  return nullptr;
}

std::shared_ptr<const PartitionTable> Cluster::partitions() const {
  std::lock_guard lock(mu_);
  return table_;
}

Result<std::shared_ptr<Node>> Cluster::AddNode(const Host& host, const std::string& expected) {
  auto conn =
      Connection::Open(host.name, host.port, host.tls_name, tls_.get(), options_.connect_timeout);
  if (!conn.ok()) return conn.status();
  if (session_->enabled()) ABS_RETURN_IF_ERROR(session_->Authenticate(**conn, host.ToString()));
  ABS_ASSIGN_OR_RETURN(NodeIdentity id, ValidateNode(**conn, options_));
  if (!expected.empty() && id.name != expected) {
    return Status::Corrupt("peer at " + host.ToString() + " says it is " + id.name +
                           ", its peers list says " + expected);
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& n : nodes_) {
      if (n->name() == id.name) return n;  // already known under another address
    }
  }
  auto node = std::make_shared<Node>(id.name, host, options_, tls_, session_);
  std::lock_guard lock(mu_);
  nodes_.push_back(node);
  ABS_LOG_DEBUG("client: added node {}", node->Describe());
  return node;
}

Status Cluster::SeedNodes() {
  std::vector<std::string> errors;
  for (const auto& seed : options_.seeds) {
    Host h = seed;
    if (options_.tls.enabled && h.tls_name.empty()) {
      errors.push_back("seed " + h.ToString() + ": TLS needs a tls-name (host:tls-name:port)");
      continue;
    }
    auto node = AddNode(h, "");
    if (!node.ok()) errors.push_back("seed " + h.ToString() + ": " + node.status().message());
  }
  if (Nodes().empty()) {
    std::string msg = "cannot connect to any seed";
    for (const auto& e : errors)
      msg += "; " + e;
    return Status::Network(msg);
  }
  return Status::Ok();
}

Status Cluster::TendNow() {
  return Tend();
}

void Cluster::TendLoop() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, options_.tend_interval, [this] { return stopping_; })) {
    lock.unlock();
    Status st = Tend();
    if (!st.ok()) ABS_LOG_WARN("client: tend: {}", st.ToString());
    lock.lock();
  }
}

Status Cluster::Tend() {
  std::lock_guard tend_lock(tend_mu_);
  std::vector<std::shared_ptr<Node>> nodes = Nodes();
  if (nodes.empty()) {
    ABS_RETURN_IF_ERROR(SeedNodes());
    nodes = Nodes();
  }
  const bool rack_aware = !options_.prefer_racks.empty();
  const std::string peers_cmd = std::string(options_.tls.enabled ? "peers-tls-" : "peers-clear-") +
                                (options_.use_services_alternate ? "alt" : "std");
  bool peers_changed = false, table_changed = false;
  std::vector<std::shared_ptr<Node>> lost;
  for (const auto& node : nodes) {
    std::vector<std::string> cmds = {"node", "peers-generation", "partition-generation"};
    if (rack_aware) cmds.push_back("rebalance-generation");
    auto answers = node->Info(cmds);
    if (!answers.ok() || (*answers)["node"] != node->name()) {
      ++node->failures;
      // A refused or reset connection means the node is gone; anything else gets a few
      // more tends before the node is dropped.
      bool gone = !answers.ok() && answers.status().code() == StatusCode::kNetwork;
      if (answers.ok() || gone || node->failures >= 3) lost.push_back(node);
      continue;
    }
    node->failures = 0;
    uint64_t peers_gen = std::strtoull((*answers)["peers-generation"].c_str(), nullptr, 10);
    int64_t part_gen = std::strtoll((*answers)["partition-generation"].c_str(), nullptr, 10);
    if (peers_gen != node->peers_generation) {
      peers_changed = true;
      node->peers_generation = peers_gen;
    }
    if (part_gen != node->partition_generation) {
      auto replicas = node->Info({"replicas"});
      if (replicas.ok()) {
        auto parsed = wire::ParseReplicas((*replicas)["replicas"]);
        if (parsed.ok()) {
          node->replicas = std::move(parsed).value();
          node->partition_generation = part_gen;
          table_changed = true;
        } else {
          ABS_LOG_WARN("client: node {}: {}", node->Describe(), parsed.status().ToString());
        }
      }
    }
    if (rack_aware) {
      uint64_t rebalance = std::strtoull((*answers)["rebalance-generation"].c_str(), nullptr, 10);
      if (rebalance != node->rebalance_generation) {
        auto racks = node->Info({"rack-ids"});
        if (racks.ok() && !wire::ParseInfoError((*racks)["rack-ids"])) {
          node->racks.clear();
          for (const auto& [ns, rack] : wire::ParseRackIds((*racks)["rack-ids"])) {
            node->racks[ns] = rack;
          }
          node->rebalance_generation = rebalance;
          table_changed = true;
        }
      }
    }
  }
  if (!lost.empty()) {
    std::lock_guard lock(mu_);
    for (const auto& n : lost) {
      ABS_LOG_INFO("client: node {} removed", n->Describe());
      nodes_.erase(std::remove(nodes_.begin(), nodes_.end(), n), nodes_.end());
    }
    table_changed = true;
  }
  if (peers_changed) {
    std::set<std::string> known;
    for (const auto& n : Nodes())
      known.insert(n->name());
    for (const auto& node : Nodes()) {
      auto answer = node->Info({peers_cmd});
      if (!answer.ok()) continue;
      auto peers = wire::ParsePeers((*answer)[peers_cmd]);
      if (!peers.ok()) {
        ABS_LOG_WARN("client: node {}: {}", node->Describe(), peers.status().ToString());
        continue;
      }
      node->peers = peers->peers;
      for (const auto& peer : peers->peers) {
        if (known.count(peer.node_id)) continue;
        for (const auto& [addr, port] : peer.endpoints) {
          Host h{addr, port, peer.tls_name};
          auto added = AddNode(h, peer.node_id);
          if (added.ok()) {
            known.insert(peer.node_id);
            peers_changed = true;
            break;
          }
          ABS_LOG_WARN("client: peer {} at {}: {}", peer.node_id, h.ToString(),
                       added.status().ToString());
        }
      }
    }
    // New nodes need their partition maps before the table is rebuilt.
    for (const auto& node : Nodes()) {
      if (node->partition_generation != -2) continue;
      auto answers = node->Info({"partition-generation", "replicas"});
      if (!answers.ok()) continue;
      auto parsed = wire::ParseReplicas((*answers)["replicas"]);
      if (!parsed.ok()) continue;
      node->replicas = std::move(parsed).value();
      node->partition_generation =
          std::strtoll((*answers)["partition-generation"].c_str(), nullptr, 10);
      table_changed = true;
    }
  }
  for (const auto& node : Nodes())
    node->ReapIdle();
  if (table_changed || !partitions()) RebuildPartitionTable();
  tend_count_.fetch_add(1);
  return Status::Ok();
}

void Cluster::RebuildPartitionTable() {
  auto table = std::make_shared<PartitionTable>();
  std::vector<std::shared_ptr<Node>> nodes = Nodes();
  // Higher regimes win where two nodes claim the same replica slot during a transition.
  std::map<std::string, std::vector<std::array<uint32_t, kMaxReplicasTracked>>> regimes;
  for (const auto& node : nodes) {
    for (const auto& ns : node->replicas) {
      auto& owners = table->namespaces[ns.ns];
      auto& reg = regimes[ns.ns];
      if (owners.empty()) {
        owners.resize(wire::kPartitionCount);
        reg.resize(wire::kPartitionCount);
      }
      size_t columns = std::min<size_t>(ns.columns.size(), kMaxReplicasTracked);
      for (size_t col = 0; col < columns; ++col) {
        for (uint32_t pid = 0; pid < wire::kPartitionCount; ++pid) {
          if (!ns.columns[col].Test(pid)) continue;
          auto& slot = owners[pid].replicas[col];
          if (!slot || ns.regime >= reg[pid][col]) {
            slot = node;
            auto rack = node->racks.find(ns.ns);
            owners[pid].racks[col] = rack == node->racks.end() ? UINT32_MAX : rack->second;
            reg[pid][col] = ns.regime;
          }
        }
      }
    }
  }
  std::lock_guard lock(mu_);
  table_ = std::move(table);
}

}  // namespace absvc::client
