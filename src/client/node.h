// One server node as the client sees it: its name, address, a pool of connections
// (logged in when security is on), and what the tend loop last learned about it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/host.h"
#include "client/options.h"
#include "common/status.h"
#include "wire/info.h"

namespace absvc::client {

struct ClientOptions;
class Session;

class Node;

// A connection borrowed from a node's pool. Call Keep() after a complete, well-formed
// exchange; a connection not kept is closed, so a pool never holds one in a bad state.
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(Node* node, std::unique_ptr<Connection> conn)
      : node_(node), conn_(std::move(conn)) {}
  PooledConnection(PooledConnection&&) = default;
  PooledConnection& operator=(PooledConnection&&) = default;
  ~PooledConnection();

  Connection* operator->() { return conn_.get(); }
  Connection& operator*() { return *conn_; }
  void Keep() { keep_ = true; }

 private:
  Node* node_ = nullptr;
  std::unique_ptr<Connection> conn_;
  bool keep_ = false;
};

class Node {
 public:
  Node(std::string name, Host host, const ClientOptions& options, std::shared_ptr<TlsContext> tls,
       std::shared_ptr<Session> session);
  ~Node();

  const std::string& name() const { return name_; }
  const Host& host() const { return host_; }
  std::string Describe() const { return name_ + " (" + host_.ToString() + ")"; }

  // A pooled connection, or a new one (logged in) while under the per-node limit.
  Result<PooledConnection> Acquire();
  // Info over a pooled connection; names answered must be the ones asked.
  Result<std::map<std::string, std::string>> Info(const std::vector<std::string>& commands);

  // Closes idle connections older than the idle timeout.
  void ReapIdle();
  size_t open_connections() const { return open_.load(); }

  // Tend state, owned by the cluster's tend thread.
  int64_t partition_generation = -2;
  uint64_t peers_generation = UINT64_MAX;
  uint64_t rebalance_generation = UINT64_MAX;
  int failures = 0;
  std::vector<wire::NamespaceReplicas> replicas;
  std::map<std::string, uint32_t> racks;  // namespace -> rack id
  std::vector<wire::PeerEntry> peers;

 private:
  friend class PooledConnection;
  void Release(std::unique_ptr<Connection> conn, bool keep);
  Result<std::unique_ptr<Connection>> OpenConnection();

  const std::string name_;
  const Host host_;
  const ClientOptions& options_;
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<Session> session_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::atomic<size_t> open_{0};
};

// Login state shared by every connection of a client: the session token once LOGIN has
// given one, reused with AUTHENTICATE on new connections and renewed when it expires.
class Session {
 public:
  // `clear_password` is sent only in kExternal mode.
  Session(AuthMode mode, std::string user, std::string credential, std::string clear_password)
      : mode_(mode),
        user_(std::move(user)),
        credential_(std::move(credential)),
        clear_password_(std::move(clear_password)) {}
  bool enabled() const { return mode_ == AuthMode::kPki || !user_.empty(); }
  // Logs `conn` in: AUTHENTICATE with the token when there is one, else LOGIN.
  Status Authenticate(Connection& conn, const std::string& node);

 private:
  Status Login(Connection& conn, const std::string& node);
  // "as 'user'", or "with its client certificate" for PKI.
  std::string Who() const;
  const AuthMode mode_;
  std::string user_;
  std::string credential_;
  std::string clear_password_;
  std::mutex mu_;
  std::string token_;
  std::chrono::steady_clock::time_point expires_{};
};

// Validates a node at `host` the way every client does before using it: one connection,
// login, then node / partition-generation / build (and cluster-name when configured).
struct NodeIdentity {
  std::string name;
  int64_t partition_generation = 0;
  std::string build;
};
Result<NodeIdentity> ValidateNode(Connection& conn, const ClientOptions& options);

}  // namespace absvc::client
