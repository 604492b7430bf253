#include "service/clusters.h"

namespace absvc::service {

Result<client::ClientOptions> ClientOptionsFor(const ClusterConfig& c) {
  client::ClientOptions o;
  for (const auto& s : c.seeds) {
    client::Host h;
    h.name = s.host;
    h.port = static_cast<uint16_t>(s.port);
    h.tls_name = s.tls_name;
    if (c.tls && h.tls_name.empty()) h.tls_name = c.tls->name;
    o.seeds.push_back(std::move(h));
  }
  o.user = c.user;
  o.password = c.password;
  if (c.auth_mode == "PKI") {
    o.auth_mode = client::AuthMode::kPki;
  } else if (c.auth_mode == "EXTERNAL" || c.auth_mode == "EXTERNAL_INSECURE") {
    o.auth_mode = client::AuthMode::kExternal;
    // EXTERNAL without tls runs as ABS runs it, with the warning its configuration gave.
    o.allow_clear_password_without_tls =
        c.auth_mode == "EXTERNAL_INSECURE" || (c.auth_mode == "EXTERNAL" && !c.tls);
  }
  if (c.tls) {
    o.tls.enabled = true;
    o.tls.ca_file = c.tls->ca_file;
    o.tls.ca_path = c.tls->ca_path;
    o.tls.cert_file = c.tls->cert_file;
    o.tls.key_file = c.tls->key_file;
    o.tls.key_password = c.tls->key_file_password;
  }
  o.use_services_alternate = c.use_services_alternate;
  o.connect_timeout = std::chrono::milliseconds(std::min<int64_t>(c.conn_timeout_ms, 30000));
  o.prefer_racks = c.prefer_racks;
  return o;
}

Result<std::shared_ptr<client::Client>> ClusterConnections::ClientFor(const std::string& name,
                                                                      const ClusterConfig& c) {
  // The fingerprint is what the connection is built from, so a job holding an older
  // configuration never gets (or caches) a client for a different cluster.
  std::string fingerprint = c.user + "|" + c.password + "|" + c.auth_mode + "|" +
                            std::to_string(c.use_services_alternate);
  for (const auto& s : c.seeds)
    fingerprint += "|" + s.host + ":" + std::to_string(s.port) + ":" + s.tls_name;
  if (c.tls) {
    fingerprint += "|tls:" + c.tls->ca_file + ":" + c.tls->ca_path + ":" + c.tls->cert_file + ":" +
                   c.tls->key_file + ":" + c.tls->key_file_password + ":" + c.tls->name;
  }
  for (auto r : c.prefer_racks)
    fingerprint += "|rack" + std::to_string(r);
  std::string key = name + "\n" + fingerprint;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(key);
    if (it != clients_.end() && it->second.client && !it->second.client->Nodes().empty()) {
      return it->second.client;
    }
  }
  // Connecting can take the whole connect timeout: not under the lock.
  ABS_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(c));
  auto client = client::Client::Connect(std::move(options));
  if (!client.ok()) return client.status().WithContext("cluster " + ClusterTitle(name, c));
  std::shared_ptr<client::Client> shared(std::move(client).value());
  std::lock_guard lock(mu_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    // Clients of older configurations of this cluster go once nobody else holds them.
    if (it->first.rfind(name + "\n", 0) == 0 && it->first != key &&
        it->second.client.use_count() == 1) {
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  clients_[key] = {fingerprint, shared};
  return shared;
}

std::shared_ptr<Semaphore> ClusterConnections::ScanSlots(const std::string& cluster,
                                                         int64_t permits) {
  std::lock_guard lock(mu_);
  auto& slot = scan_slots_[cluster];
  if (!slot.second || slot.first != permits) {
    slot = {permits, std::make_shared<Semaphore>(permits)};
  }
  return slot.second;
}

}  // namespace absvc::service
