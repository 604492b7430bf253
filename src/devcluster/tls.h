// TLS for the devcluster's service ports: one server context from a certificate and key,
// TLS 1.2+ only. Connection wraps a socket with or without TLS.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc::devcluster {

class TlsServerContext {
 public:
  // With `client_ca_file`, clients are asked for a certificate, which must verify against
  // it when given (a client without one is still served).
  static Result<std::unique_ptr<TlsServerContext>> Create(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          const std::string& client_ca_file = "");
  ~TlsServerContext();
  SSL_CTX* ctx() const { return ctx_; }
  // The certificate's subject CN (the tls-name clients verify), or empty.
  const std::string& common_name() const { return common_name_; }

 private:
  TlsServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::string common_name_;
};

// A connected socket, optionally with TLS. Not thread-safe; one thread owns it.
class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Performs the TLS handshake as server.
  Status AcceptTls(SSL_CTX* ctx);
  // The CN of the client certificate the handshake verified, or empty.
  std::string PeerCommonName() const;
  // Reads exactly n bytes. kNetwork on EOF or error.
  Status ReadExact(char* buf, size_t n);
  // Peeks up to n bytes without consuming them (plain sockets only).
  size_t Peek(char* buf, size_t n);
  Status WriteAll(std::string_view data);
  // Unblocks a reader in another thread and closes the socket.
  void Shutdown();
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
};

}  // namespace absvc::devcluster
