#include "devcluster/tls.h"

#include "common/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace absvc::devcluster {
namespace {

std::string OpenSslError() {
  return tls::OpenSslErrors();
}

}  // namespace

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  std::unique_ptr<TlsServerContext> t(new TlsServerContext());
  t->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!t->ctx_) return Status::Internal("cannot create TLS context: " + OpenSslError());
  SSL_CTX_set_min_proto_version(t->ctx_, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(t->ctx_, cert_file.c_str()) != 1) {
    return Status::InvalidArgument("cannot load TLS certificate " + cert_file + ": " +
                                   OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(t->ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument("cannot load TLS key " + key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(t->ctx_) != 1) {
    return Status::InvalidArgument("TLS key " + key_file + " does not match certificate " +
                                   cert_file);
  }
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(t->ctx_, client_ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("cannot load TLS CA " + client_ca_file + ": " +
                                     OpenSslError());
    }
    SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
  }
  X509* cert = SSL_CTX_get0_certificate(t->ctx_);
  if (cert) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      t->common_name_ = cn;
    }
  }
  return t;
}

TlsServerContext::~TlsServerContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

Status Connection::AcceptTls(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return Status::Internal("SSL_new failed");
  if (!tls::AttachSocket(ssl_, fd_)) {
    return Status::Internal("cannot attach TLS to the socket: " + OpenSslError());
  }
  if (SSL_accept(ssl_) != 1) return Status::Network("TLS handshake failed: " + OpenSslError());
  return Status::Ok();
}

std::string Connection::PeerCommonName() const {
  if (!ssl_ || SSL_get_verify_result(ssl_) != X509_V_OK) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return "";
  char cn[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return n > 0 ? std::string(cn, static_cast<size_t>(n)) : "";
}

Status Connection::ReadExact(char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r;
    if (ssl_) {
      r = SSL_read(ssl_, buf + got, static_cast<int>(std::min<size_t>(n - got, 1 << 30)));
      if (r <= 0) return Status::Network("connection closed");
    } else {
      r = ::recv(fd_, buf + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Status::Network(r == 0 ? "connection closed" : std::strerror(errno));
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

size_t Connection::Peek(char* buf, size_t n) {
  if (ssl_) return 0;
  ssize_t r = ::recv(fd_, buf, n, MSG_PEEK);
  return r > 0 ? static_cast<size_t>(r) : 0;
}

Status Connection::WriteAll(std::string_view data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t w;
    if (ssl_) {
      w = SSL_write(ssl_, data.data() + sent,
                    static_cast<int>(std::min<size_t>(data.size() - sent, 1 << 30)));
      if (w <= 0) return Status::Network("TLS write failed");
    } else {
      w = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Status::Network(std::strerror(errno));
    }
    sent += static_cast<size_t>(w);
  }
  return Status::Ok();
}

void Connection::Shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace absvc::devcluster
