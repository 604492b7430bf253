#include "client/node.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "client/options.h"
#include "common/bytes.h"
#include "wire/admin.h"
#include "wire/info.h"
#include "wire/result_code.h"

namespace absvc::client {

PooledConnection::~PooledConnection() {
  if (node_ && conn_) node_->Release(std::move(conn_), keep_);
}

Node::Node(std::string name, Host host, const ClientOptions& options,
           std::shared_ptr<TlsContext> tls, std::shared_ptr<Session> session)
    : name_(std::move(name)),
      host_(std::move(host)),
      options_(options),
      tls_(std::move(tls)),
      session_(std::move(session)) {}

Node::~Node() = default;

Result<std::unique_ptr<Connection>> Node::OpenConnection() {
  auto conn = Connection::Open(host_.name, host_.port, host_.tls_name, tls_.get(),
                               options_.connect_timeout);
  if (!conn.ok()) return conn.status().WithContext("node " + name_);
  if (session_->enabled()) {
    Status st = session_->Authenticate(**conn, name_);
    if (!st.ok()) return st;
  }
  (*conn)->SetReadTimeout(options_.socket_timeout);
  return conn;
}

Result<PooledConnection> Node::Acquire() {
  auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (true) {
    {
      std::lock_guard lock(mu_);
      while (!idle_.empty()) {
        std::unique_ptr<Connection> c = std::move(idle_.back());
        idle_.pop_back();
        if (std::chrono::steady_clock::now() - c->last_used() < options_.idle_timeout) {
          return PooledConnection(this, std::move(c));
        }
        --open_;  // too old: the server may have closed it
      }
      if (open_.load() < options_.max_connections_per_node) {
        ++open_;
        break;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("node " + Describe() + ": all " +
                                 std::to_string(options_.max_connections_per_node) +
                                 " connections busy");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto conn = OpenConnection();
  if (!conn.ok()) {
    --open_;
    return conn.status();
  }
  return PooledConnection(this, std::move(conn).value());
}

void Node::Release(std::unique_ptr<Connection> conn, bool keep) {
  if (!keep) {
    --open_;
    return;  // closed by its destructor
  }
  conn->Touch();
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
}

void Node::ReapIdle() {
  std::vector<std::unique_ptr<Connection>> old;
  {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (now - (*it)->last_used() >= options_.idle_timeout) {
        old.push_back(std::move(*it));
        it = idle_.erase(it);
        --open_;
      } else {
        ++it;
      }
    }
  }
}

namespace {

Result<std::map<std::string, std::string>> InfoOn(Connection& conn,
                                                  const std::vector<std::string>& commands,
                                                  const std::string& who) {
  wire::ProtoHeader h;
  std::string body;
  ABS_RETURN_IF_ERROR(conn.Exchange(wire::BuildInfoRequest(commands), &h, &body));
  if (h.type != wire::ProtoType::kInfo) {
    return Status::Corrupt("node " + who + " answered info with proto type " +
                           std::to_string(static_cast<int>(h.type)));
  }
  std::map<std::string, std::string> out;
  for (auto& p : wire::ParseInfoResponse(body)) {
    bool asked = false;
    for (const auto& c : commands)
      asked = asked || c == p.name;
    if (!asked) {
      return Status::Corrupt("node " + who + " answered info '" + p.name.substr(0, 64) +
                             "' that was not asked");
    }
    out[p.name] = std::move(p.value);
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> Node::Info(const std::vector<std::string>& commands) {
  ABS_ASSIGN_OR_RETURN(PooledConnection conn, Acquire());
  auto out = InfoOn(*conn, commands, Describe());
  if (out.ok()) conn.Keep();
  return out;
}

Status Session::Authenticate(Connection& conn, const std::string& node) {
  std::string token;
  {
    std::lock_guard lock(mu_);
    if (!token_.empty() && std::chrono::steady_clock::now() < expires_) token = token_;
  }
  if (!token.empty()) {
    wire::ProtoHeader h;
    std::string body;
    // A PKI session has no user name to send: the token alone names it.
    std::vector<std::pair<wire::AdminField, std::string>> fields;
    if (mode_ != AuthMode::kPki) fields.push_back({wire::AdminField::kUser, user_});
    fields.push_back({wire::AdminField::kSessionToken, std::string(token)});
    ABS_RETURN_IF_ERROR(conn.Exchange(
        wire::EncodeAdminMessage(wire::AdminCommand::kAuthenticate, 0, fields), &h, &body));
    if (body.size() >= 2 && static_cast<uint8_t>(body[1]) == 0) return Status::Ok();
    // Expired or unknown token: log in again below.
  }
  return Login(conn, node);
}

Status Session::Login(Connection& conn, const std::string& node) {
  namespace ar = wire::admin_result;
  wire::ProtoHeader h;
  std::string body;
  std::vector<std::pair<wire::AdminField, std::string>> fields;
  if (mode_ != AuthMode::kPki) {
    fields.push_back({wire::AdminField::kUser, user_});
    fields.push_back({wire::AdminField::kCredential, credential_});
  }
  if (mode_ == AuthMode::kExternal) {
    fields.push_back({wire::AdminField::kClearPassword, clear_password_});
  }
  ABS_RETURN_IF_ERROR(
      conn.Exchange(wire::EncodeAdminMessage(wire::AdminCommand::kLogin, 0, fields), &h, &body));
  if (h.type != wire::ProtoType::kAdmin) {
    return Status::Corrupt("node " + node + " answered login with proto type " +
                           std::to_string(static_cast<int>(h.type)));
  }
  wire::AdminMessage m;
  Status st = wire::DecodeAdminMessage(body, &m);
  if (!st.ok()) return st.WithContext("login answer from node " + node);
  switch (m.result) {
    case ar::kOk:
      break;
    case ar::kSecurityNotSupported:
    case ar::kSecurityNotEnabled:
      return Status::InvalidArgument(
          "node " + node + " has no security enabled (result " + std::to_string(m.result) +
          "), but credentials were given: remove them or enable security on the server");
    case ar::kInvalidUser:
    case ar::kInvalidPassword:
    case ar::kInvalidCredential:
      return Status::Server(
          m.result, "login to node " + node + " " + Who() + " refused: " +
                        (mode_ == AuthMode::kPki ? "the certificate names no user the server knows"
                                                 : "invalid user or password"));
    default:
      return Status::Server(m.result, "login to node " + node + " " + Who() +
                                          " failed with result " + std::to_string(m.result));
  }
  std::string_view token = m.Field(wire::AdminField::kSessionToken);
  if (token.empty()) return Status::Corrupt("node " + node + " accepted login without a token");
  std::string_view ttl_field = m.Field(wire::AdminField::kSessionTtl);
  uint32_t ttl = ttl_field.size() == 4 ? LoadU32BE(ttl_field.data()) : 0;
  std::lock_guard lock(mu_);
  token_ = std::string(token);
  // Renew a minute early; a TTL of a minute or less means the session never expires.
  expires_ = ttl > 60 ? std::chrono::steady_clock::now() + std::chrono::seconds(ttl - 60)
                      : std::chrono::steady_clock::time_point::max();
  return Status::Ok();
}

std::string Session::Who() const {
  return mode_ == AuthMode::kPki ? "with its client certificate (PKI)" : "as '" + user_ + "'";
}

Result<NodeIdentity> ValidateNode(Connection& conn, const ClientOptions& options) {
  std::vector<std::string> commands = {"node", "partition-generation", "build"};
  if (!options.cluster_name.empty()) commands.push_back("cluster-name");
  ABS_ASSIGN_OR_RETURN(auto answers, InfoOn(conn, commands, conn.peer()));
  for (const auto& [name, value] : answers) {
    auto err = wire::ParseInfoError(value);
    if (err && (err->code == wire::result::kNotAuthenticated ||
                err->code == wire::result::kRoleViolation)) {
      return Status::InvalidArgument("node at " + conn.peer() +
                                     " requires login (not authenticated): give a user and "
                                     "password");
    }
  }
  NodeIdentity id;
  id.name = answers["node"];
  id.build = answers["build"];
  if (id.name.empty() || id.name.size() > 19 || wire::ParseInfoError(id.name)) {
    return Status::Corrupt("node at " + conn.peer() + " gave an invalid node name '" +
                           id.name.substr(0, 64) + "'");
  }
  const std::string& gen = answers["partition-generation"];
  char* end = nullptr;
  id.partition_generation = std::strtoll(gen.c_str(), &end, 10);
  if (gen.empty() || *end != '\0') {
    return Status::Corrupt("node " + id.name + " gave partition-generation '" + gen + "'");
  }
  if (id.partition_generation == -1) {
    return Status::Unavailable("node " + id.name + " is not yet fully initialized");
  }
  int major = 0, minor = 0, patch = 0;
  if (std::sscanf(id.build.c_str(), "%d.%d.%d", &major, &minor, &patch) != 3) {
    return Status::Corrupt("node " + id.name + " gave build '" + id.build + "'");
  }
  if (major < 6) {
    return Status::Unsupported("node " + id.name + " runs server " + id.build +
                               "; abs needs 6.0 or newer");
  }
  if (!options.cluster_name.empty() && answers["cluster-name"] != options.cluster_name) {
    return Status::InvalidArgument("node " + id.name + " belongs to cluster '" +
                                   answers["cluster-name"] + "', expected '" +
                                   options.cluster_name + "'");
  }
  return id;
}

}  // namespace absvc::client
