#include "devcluster/cluster.h"

#include <openssl/rand.h>

#include <charconv>

#include "common/bytes.h"
#include "common/log.h"
#include "devcluster/node_server.h"
#include "devcluster/tls.h"
#include "wire/admin.h"

namespace absvc::devcluster {

int ClusterView::alive_count() const {
  int n = 0;
  for (bool a : alive)
    n += a ? 1 : 0;
  return n;
}

Result<NamespaceConfig> ParseNamespaceSpec(std::string_view spec) {
  NamespaceConfig c;
  size_t colon = spec.find(':');
  c.name = std::string(spec.substr(0, colon));
  if (c.name.empty() || c.name.size() > 31) {
    return Status::InvalidArgument("namespace name must be 1..31 characters: '" +
                                   std::string(spec) + "'");
  }
  for (char ch : c.name) {
    if (ch == ':' || ch == ';' || ch == '/' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '.') {
      return Status::InvalidArgument("namespace name '" + c.name + "' has a forbidden character");
    }
  }
  if (colon == std::string_view::npos) return c;
  std::string_view rest = spec.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find_first_of(":,", start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view opt = rest.substr(start, end - start);
    start = end + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("namespace option '" + std::string(opt) + "' needs '=value'");
    }
    std::string_view key = opt.substr(0, eq), value = opt.substr(eq + 1);
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size()) {
      return Status::InvalidArgument("namespace option '" + std::string(key) +
                                     "' needs a non-negative integer, got '" + std::string(value) +
                                     "'");
    }
    if (key == "rf" || key == "replication-factor") {
      if (v < 1 || v > 8) return Status::InvalidArgument("rf must be 1..8");
      c.replication_factor = v;
    } else if (key == "default-ttl") {
      c.default_ttl = v;
    } else if (key == "nsup-period") {
      c.nsup_period = v;
    } else {
      return Status::InvalidArgument("unknown namespace option '" + std::string(key) +
                                     "' (known: rf, default-ttl, nsup-period)");
    }
  }
  return c;
}

DevCluster::DevCluster(ClusterOptions options) : options_(std::move(options)) {}

DevCluster::~DevCluster() {
  Stop();
}

Result<std::unique_ptr<DevCluster>> DevCluster::Create(ClusterOptions options) {
  if (options.nodes < 1 || options.nodes > 64) {
    return Status::InvalidArgument("--nodes must be 1..64");
  }
  if (options.base_port == 0 || options.base_port + options.nodes - 1 > 65535) {
    return Status::InvalidArgument("--base-port leaves no room for " +
                                   std::to_string(options.nodes) + " nodes");
  }
  if (options.namespaces.empty()) options.namespaces.push_back(NamespaceConfig{"test"});
  for (size_t i = 0; i < options.namespaces.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (options.namespaces[i].name == options.namespaces[j].name) {
        return Status::InvalidArgument("namespace '" + options.namespaces[i].name +
                                       "' given twice");
      }
    }
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (options.user.empty() && !options.password.empty()) {
    return Status::InvalidArgument("--password needs --user");
  }
  std::unique_ptr<DevCluster> c(new DevCluster(std::move(options)));
  const auto& o = c->options_;
  for (int i = 0; i < o.nodes; ++i) {
    uint64_t id = (0xBB9ull << 48) | (uint64_t{c->port(i)} << 16) | static_cast<uint64_t>(i + 1);
    c->node_ids_.push_back(HexU64Upper(id));
    c->id_hashes_.push_back(id * 0x9E3779B97F4A7C15ull);
    c->faults_.push_back(std::make_unique<NodeFaults>());
  }
  c->partition_gen_ = std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(o.nodes));
  c->peers_gen_ = std::make_unique<std::atomic<uint64_t>[]>(static_cast<size_t>(o.nodes));
  for (const auto& ns : o.namespaces)
    c->stores_.push_back(std::make_unique<NamespaceStore>(ns));
  if (!o.tls_cert_file.empty()) {
    ABS_ASSIGN_OR_RETURN(c->tls_,
                         TlsServerContext::Create(o.tls_cert_file, o.tls_key_file, o.tls_ca_file));
    c->tls_name_ = o.tls_name.empty() ? c->tls_->common_name() : o.tls_name;
    if (c->tls_name_.empty()) {
      return Status::InvalidArgument("TLS certificate has no CN; give --tls-name");
    }
  }
  if (!o.user.empty()) {
    ABS_ASSIGN_OR_RETURN(c->credential_, wire::HashPasswordCredential(o.password));
  }
  if (o.auth_mode != "internal" && o.auth_mode != "external" && o.auth_mode != "pki") {
    return Status::InvalidArgument("--auth-mode is internal, external or pki, not '" + o.auth_mode +
                                   "'");
  }
  if (o.auth_mode != "internal" && o.user.empty()) {
    return Status::InvalidArgument("--auth-mode " + o.auth_mode + " needs --user");
  }
  if (o.auth_mode == "pki" && o.tls_ca_file.empty()) {
    return Status::InvalidArgument("--auth-mode pki needs --tls-ca to verify client certificates");
  }
  if (!o.tls_ca_file.empty() && o.tls_cert_file.empty()) {
    return Status::InvalidArgument("--tls-ca needs --tls-cert");
  }
  c->alive_.assign(static_cast<size_t>(o.nodes), true);
  c->Rebalance();
  return c;
}

uint32_t DevCluster::rack(int i) const {
  if (options_.racks.empty()) return 0;
  return options_.racks[static_cast<size_t>(i) % options_.racks.size()];
}

int DevCluster::FindNode(const std::string& id_or_index) const {
  for (int i = 0; i < node_count(); ++i) {
    if (node_ids_[static_cast<size_t>(i)] == id_or_index) return i;
  }
  int idx = -1;
  auto [p, ec] = std::from_chars(id_or_index.data(), id_or_index.data() + id_or_index.size(), idx);
  if (ec == std::errc() && p == id_or_index.data() + id_or_index.size() && idx >= 0 &&
      idx < node_count()) {
    return idx;
  }
  return -1;
}

void DevCluster::Rebalance() {
  auto view = std::make_shared<ClusterView>();
  view->alive = alive_;
  std::vector<NodePlacement> placements;
  for (int i = 0; i < node_count(); ++i) {
    if (alive_[static_cast<size_t>(i)]) {
      placements.push_back({i, id_hashes_[static_cast<size_t>(i)], rack(i)});
    }
  }
  for (const auto& store : stores_) {
    view->maps.emplace(store->config().name,
                       PartitionMap::Compute(placements, store->config().replication_factor));
  }
  uint64_t key = 0xCAFE;
  for (const auto& p : placements)
    key = key * 31 + p.id_hash;
  view->cluster_key = key == 0 ? 1 : key;
  rebalance_gen_.fetch_add(1);
  for (int i = 0; i < node_count(); ++i) {
    partition_gen_[static_cast<size_t>(i)].fetch_add(1);
    peers_gen_[static_cast<size_t>(i)].fetch_add(1);
  }
  std::lock_guard lock(view_mu_);
  view_ = std::move(view);
}

std::shared_ptr<const ClusterView> DevCluster::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

NamespaceStore* DevCluster::FindNamespace(std::string_view name) {
  for (auto& s : stores_) {
    if (s->config().name == name) return s.get();
  }
  return nullptr;
}

Status DevCluster::Start() {
  for (int i = 0; i < node_count(); ++i) {
    servers_.push_back(std::make_unique<NodeServer>(*this, i));
    ABS_RETURN_IF_ERROR(servers_.back()->Start());
  }
  return Status::Ok();
}

void DevCluster::Stop() {
  for (auto& s : servers_)
    s->Stop();
  servers_.clear();
}

Status DevCluster::StopNode(int index) {
  if (index < 0 || index >= node_count()) return Status::InvalidArgument("no such node");
  std::lock_guard lock(membership_mu_);
  if (!alive_[static_cast<size_t>(index)]) return Status::Ok();
  alive_[static_cast<size_t>(index)] = false;
  Rebalance();
  if (static_cast<size_t>(index) < servers_.size()) servers_[static_cast<size_t>(index)]->Stop();
  ABS_LOG_INFO("node {} ({}) stopped", index, node_id(index));
  return Status::Ok();
}

Status DevCluster::StartNode(int index) {
  if (index < 0 || index >= node_count()) return Status::InvalidArgument("no such node");
  std::lock_guard lock(membership_mu_);
  if (alive_[static_cast<size_t>(index)]) return Status::Ok();
  if (static_cast<size_t>(index) < servers_.size()) {
    ABS_RETURN_IF_ERROR(servers_[static_cast<size_t>(index)]->Start());
  }
  alive_[static_cast<size_t>(index)] = true;
  Rebalance();
  ABS_LOG_INFO("node {} ({}) started", index, node_id(index));
  return Status::Ok();
}

bool DevCluster::CheckCredential(std::string_view user, std::string_view credential) const {
  return security_enabled() && user == options_.user && credential == credential_;
}

std::string DevCluster::NewSession(std::string_view user) {
  unsigned char raw[24];
  RAND_bytes(raw, sizeof raw);
  std::string token = HexEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  std::lock_guard lock(sessions_mu_);
  sessions_[token] = std::string(user);
  return token;
}

std::optional<std::string> DevCluster::CheckSession(std::string_view user,
                                                    std::string_view token) const {
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(std::string(token));
  if (it == sessions_.end() || (!user.empty() && it->second != user)) return std::nullopt;
  return it->second;
}

}  // namespace absvc::devcluster
