// A client connection to one node: TCP with connect and per-read timeouts, optional TLS
// (1.2+, server certificate verified against the CA and the node's tls-name), and proto
// framing. Not thread-safe: one command at a time, as the protocol requires.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "client/host.h"
#include "common/status.h"
#include "wire/proto.h"

namespace absvc::client {

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;
  std::string ca_path;
  std::string cert_file;  // client certificate (mutual TLS), optional
  std::string key_file;
  std::string key_password;
};

// One SSL_CTX per client; verification is on and TLS < 1.2 is refused.
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> Create(const TlsOptions& options);
  ~TlsContext();
  SSL_CTX* ctx() const { return ctx_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
};

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects to `address:port` (numeric or resolvable) within `connect_timeout`. With TLS,
  // the server certificate must name `tls_name`.
  static Result<std::unique_ptr<Connection>> Open(const std::string& address, uint16_t port,
                                                  const std::string& tls_name,
                                                  const TlsContext* tls,
                                                  std::chrono::milliseconds connect_timeout);

  // Each read waits at most this long for data (0 = forever).
  void SetReadTimeout(std::chrono::milliseconds timeout);

  Status WriteAll(std::string_view data);
  Status ReadExact(char* buf, size_t n);
  // Reads one proto: header into *header, body into *body (resized, capacity reused).
  Status ReadProto(wire::ProtoHeader* header, std::string* body);
  // Sends `request` (a complete proto) and reads one proto answer.
  Status Exchange(std::string_view request, wire::ProtoHeader* header, std::string* body);

  // Reads one proto of a message stream (batch, scan): type 3, or type 4 inflated. Sets
  // *messages to its AS_MSGs, which live in *body or *inflated. Never empty or partial.
  Status ReadMessages(std::string* body, std::string* inflated, std::string_view* messages);

  const std::string& peer() const { return peer_; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  void Touch() { last_used_ = std::chrono::steady_clock::now(); }

 private:
  Connection(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  Status IoError(const char* what, int err) const;

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string peer_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace absvc::client
