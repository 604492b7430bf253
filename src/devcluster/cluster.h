// abs-devcluster: an in-memory multi-node Aerospike-compatible cluster on loopback ports,
// for tests, benchmarks and the demo. One process runs every node; each node listens on
// its own port and answers the real wire protocol. The records live in one store per
// namespace shared by the nodes, and a partition map decides which node answers for
// which partition, so stopping a node moves its partitions to the survivors exactly as
// clients expect from a real node loss.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "devcluster/namespace_store.h"
#include "devcluster/partition_map.h"

namespace absvc::devcluster {

class NodeServer;
class TlsServerContext;

struct ClusterOptions {
  int nodes = 3;
  uint16_t base_port = 3000;  // node i listens on base_port + i
  std::string host = "127.0.0.1";
  std::vector<uint32_t> racks;  // rack of node i = racks[i % size]; empty = all rack 0
  std::vector<NamespaceConfig> namespaces;
  std::string user;  // when set, every connection must log in
  std::string password;
  // How --user logs in, as a server with that kind of user expects: internal (user and
  // bcrypt credential), external (an LDAP-style user: the clear-text password is checked)
  // or pki (no user or password: a client certificate verified against tls_ca_file whose
  // CN is the user).
  std::string auth_mode = "internal";
  std::string tls_ca_file;    // when set, client certificates are asked for and verified
  std::string tls_cert_file;  // when set, the service ports speak TLS only
  std::string tls_key_file;
  std::string tls_name;  // advertised in peers-tls-std; default: certificate CN
  std::string build = "8.1.0.0";
  std::string cluster_name = "abs-devcluster";
};

// Faults injected into one node through the dev-fault info command.
struct NodeFaults {
  std::atomic<uint32_t> latency_ms{0};       // added before every response
  std::atomic<int64_t> drop_scan_after{-1};  // next scan drops the connection after N records
};

// Immutable membership snapshot; replaced as a whole when a node stops or starts.
struct ClusterView {
  std::vector<bool> alive;
  std::map<std::string, PartitionMap, std::less<>> maps;  // by namespace
  uint64_t cluster_key = 0;
  int alive_count() const;
};

struct SindexDefinition {
  std::string ns, set, name, bin, type /*numeric|string|blob|geo2dsphere*/,
      index_type /*default|list|mapkeys|mapvalues*/, context /*base64 or empty*/;
};

class DevCluster {
 public:
  static Result<std::unique_ptr<DevCluster>> Create(ClusterOptions options);
  ~DevCluster();

  // Binds and starts every node. Fails if a port cannot be bound.
  Status Start();
  void Stop();

  // Fault injection: a stopped node closes its port and connections; its partitions move
  // to the survivors and every survivor's partition and peers generations change.
  Status StopNode(int index);
  Status StartNode(int index);

  const ClusterOptions& options() const { return options_; }
  int node_count() const { return options_.nodes; }
  const std::string& node_id(int i) const { return node_ids_[static_cast<size_t>(i)]; }
  uint16_t port(int i) const { return static_cast<uint16_t>(options_.base_port + i); }
  uint32_t rack(int i) const;
  bool racks_configured() const { return !options_.racks.empty(); }
  int64_t partition_generation(int i) const {
    return partition_gen_[static_cast<size_t>(i)].load();
  }
  uint64_t peers_generation(int i) const { return peers_gen_[static_cast<size_t>(i)].load(); }
  uint64_t rebalance_generation() const { return rebalance_gen_.load(); }
  NodeFaults& faults(int i) { return *faults_[static_cast<size_t>(i)]; }
  // Node index for an id ("BB9...") or a decimal index; -1 when unknown.
  int FindNode(const std::string& id_or_index) const;

  std::shared_ptr<const ClusterView> view() const;
  NamespaceStore* FindNamespace(std::string_view name);
  const std::vector<std::unique_ptr<NamespaceStore>>& namespaces() const { return stores_; }

  bool tls_enabled() const { return tls_ != nullptr; }
  TlsServerContext* tls() const { return tls_.get(); }
  const std::string& tls_name() const { return tls_name_; }

  // Security. Credentials are the bcrypt string clients send.
  bool security_enabled() const { return !options_.user.empty(); }
  bool CheckCredential(std::string_view user, std::string_view credential) const;
  std::string NewSession(std::string_view user);
  // The user a session token belongs to; `user`, when not empty, must be it.
  std::optional<std::string> CheckSession(std::string_view user, std::string_view token) const;

  // System metadata: UDF modules and secondary-index definitions, cluster-wide.
  std::mutex& metadata_mutex() { return metadata_mu_; }
  std::map<std::string, std::string>& udfs() { return udfs_; }  // name -> content
  std::vector<SindexDefinition>& sindexes() { return sindexes_; }

  // Requests served, for tests that need to know where a command went.
  std::atomic<uint64_t> scans_started{0};

 private:
  explicit DevCluster(ClusterOptions options);
  void Rebalance();  // recompute the view from `alive_`, bump generations

  ClusterOptions options_;
  std::vector<std::string> node_ids_;
  std::vector<uint64_t> id_hashes_;
  std::vector<std::unique_ptr<NamespaceStore>> stores_;
  std::vector<std::unique_ptr<NodeServer>> servers_;
  std::vector<std::unique_ptr<NodeFaults>> faults_;
  std::unique_ptr<std::atomic<int64_t>[]> partition_gen_;
  std::unique_ptr<std::atomic<uint64_t>[]> peers_gen_;
  std::atomic<uint64_t> rebalance_gen_{1};

  mutable std::mutex membership_mu_;
  std::vector<bool> alive_;
  mutable std::mutex view_mu_;
  std::shared_ptr<const ClusterView> view_;

  std::unique_ptr<TlsServerContext> tls_;
  std::string tls_name_;

  std::string credential_;  // bcrypt of options_.password with the client's fixed salt
  mutable std::mutex sessions_mu_;
  std::map<std::string, std::string> sessions_;  // token -> user

  std::mutex metadata_mu_;
  std::map<std::string, std::string> udfs_;
  std::vector<SindexDefinition> sindexes_;
};

// Parses "name[:rf=2][:default-ttl=0][:nsup-period=120]" (also ',' between options).
Result<NamespaceConfig> ParseNamespaceSpec(std::string_view spec);

}  // namespace absvc::devcluster
