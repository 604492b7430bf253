#include "client/connection.h"

#include "common/tls.h"
#include "wire/message.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace absvc::client {
namespace {

using tls::OpenSslErrors;

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsOptions& o) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  t->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!t->ctx_) return Status::Internal("cannot create TLS context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(t->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
  if (!o.ca_file.empty() || !o.ca_path.empty()) {
    if (SSL_CTX_load_verify_locations(t->ctx_, o.ca_file.empty() ? nullptr : o.ca_file.c_str(),
                                      o.ca_path.empty() ? nullptr : o.ca_path.c_str()) != 1) {
      return Status::InvalidArgument("cannot load TLS CA " +
                                     (o.ca_file.empty() ? o.ca_path : o.ca_file) + ": " +
                                     OpenSslErrors());
    }
  } else if (SSL_CTX_set_default_verify_paths(t->ctx_) != 1) {
    return Status::InvalidArgument("no TLS CA given and the system CA store cannot be loaded");
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(t->ctx_, o.cert_file.c_str()) != 1) {
      return Status::InvalidArgument("cannot load TLS client certificate " + o.cert_file + ": " +
                                     OpenSslErrors());
    }
    ABS_RETURN_IF_ERROR(tls::UsePrivateKey(t->ctx_, o.key_file, o.key_password, "TLS client key"));
  }
  return t;
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

Status Connection::IoError(const char* what, int err) const {
  if (err == EAGAIN || err == EWOULDBLOCK) {
    return Status::Timeout(std::string(what) + " timed out on " + peer_);
  }
  return Status::Network(std::string(what) + " failed on " + peer_ + ": " +
                         (err ? std::strerror(err) : "connection closed by the server"));
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& address, uint16_t port,
                                                     const std::string& tls_name,
                                                     const TlsContext* tls,
                                                     std::chrono::milliseconds connect_timeout) {
  std::string peer = address + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0 || !res) {
    return Status::Network("cannot resolve " + peer + ": " + ::gai_strerror(gai));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Network("socket: " + std::string(std::strerror(errno)));
  std::unique_ptr<Connection> c(new Connection(fd, peer));
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  if (rc != 0 && errno != EINPROGRESS) return c->IoError("connect", errno);
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(connect_timeout.count()));
    if (n == 0) return Status::Timeout("connect to " + peer + " timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0 || err != 0) return c->IoError("connect", n < 0 ? errno : err);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->SetReadTimeout(connect_timeout);
  if (tls) {
    if (tls_name.empty()) {
      return Status::InvalidArgument("TLS to " + peer + " needs a tls-name (host:tls-name:port)");
    }
    c->ssl_ = SSL_new(tls->ctx());
    if (!c->ssl_ || !tls::AttachSocket(c->ssl_, fd)) {
      return Status::Internal("cannot start TLS to " + peer + ": " + OpenSslErrors());
    }
    // Verify the certificate against the node's tls-name (CN or subjectAltName).
    X509_VERIFY_PARAM* param = SSL_get0_param(c->ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, 0);
    X509_VERIFY_PARAM_set1_host(param, tls_name.c_str(), tls_name.size());
    if (SSL_connect(c->ssl_) != 1) {
      long verify = SSL_get_verify_result(c->ssl_);
      std::string why =
          verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpenSslErrors();
      return Status::Network("TLS handshake with " + peer + " (tls-name " + tls_name +
                             ") failed: " + why);
    }
  }
  return c;
}

void Connection::SetReadTimeout(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Status Connection::WriteAll(std::string_view data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t w;
    if (ssl_) {
      w = SSL_write(ssl_, data.data() + sent,
                    static_cast<int>(std::min<size_t>(data.size() - sent, 1 << 30)));
      if (w <= 0) return IoError("TLS write", errno);
    } else {
      w = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return IoError("write", errno);
    }
    sent += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status Connection::ReadExact(char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r;
    if (ssl_) {
      errno = 0;
      r = SSL_read(ssl_, buf + got, static_cast<int>(std::min<size_t>(n - got, 1 << 30)));
      if (r <= 0) return IoError("TLS read", errno);
    } else {
      r = ::recv(fd_, buf + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return IoError("read", r == 0 ? 0 : errno);
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status Connection::ReadProto(wire::ProtoHeader* header, std::string* body) {
  char h[wire::kProtoHeaderSize];
  ABS_RETURN_IF_ERROR(ReadExact(h, sizeof h));
  auto decoded = wire::DecodeProtoHeader(std::string_view(h, sizeof h));
  if (!decoded.ok()) return decoded.status().WithContext("from " + peer_);
  *header = *decoded;
  body->resize(header->body_size);
  ABS_RETURN_IF_ERROR(ReadExact(body->data(), body->size()));
  Touch();
  return Status::Ok();
}

Status Connection::ReadMessages(std::string* body, std::string* inflated,
                                std::string_view* messages) {
  wire::ProtoHeader h;
  ABS_RETURN_IF_ERROR(ReadProto(&h, body));
  if (h.type == wire::ProtoType::kCompressed) {
    ABS_ASSIGN_OR_RETURN(*inflated, wire::DecompressMessageBody(*body));
    *messages = std::string_view(*inflated).substr(wire::kProtoHeaderSize);
  } else if (h.type == wire::ProtoType::kMessage) {
    *messages = *body;
  } else {
    return Status::Corrupt("proto type " + std::to_string(static_cast<int>(h.type)) +
                           " in a message stream from " + peer_);
  }
  if (messages->size() < wire::kMsgHeaderSize) {
    return Status::Corrupt("empty or partial proto of " + std::to_string(messages->size()) +
                           " bytes from " + peer_);
  }
  return Status::Ok();
}

Status Connection::Exchange(std::string_view request, wire::ProtoHeader* header,
                            std::string* body) {
  ABS_RETURN_IF_ERROR(WriteAll(request));
  return ReadProto(header, body);
}

}  // namespace absvc::client
