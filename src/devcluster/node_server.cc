#include "devcluster/node_server.h"

#include <openssl/crypto.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/log.h"
#include "devcluster/cluster.h"
#include "devcluster/handlers.h"
#include "devcluster/tls.h"
#include "wire/proto.h"

namespace absvc::devcluster {

Status NodeServer::Start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Network(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(cluster_.port(index_));
  if (::inet_pton(AF_INET, cluster_.options().host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return Status::InvalidArgument("host must be an IPv4 address: " + cluster_.options().host);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 512) != 0) {
    int err = errno;
    ::close(fd);
    return Status::Network("cannot listen on " + cluster_.options().host + ":" +
                           std::to_string(cluster_.port(index_)) + ": " + std::strerror(err));
  }
  listen_fd_ = fd;
  accept_thread_ = std::thread([this, fd] { AcceptLoop(fd); });
  return Status::Ok();
}

void NodeServer::Stop() {
  std::unique_lock lock(mu_);
  if (listen_fd_ < 0 && active_threads_ == 0) return;
  stopping_ = true;
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  for (Connection* c : connections_)
    c->Shutdown();
  lock.unlock();
  if (accept_thread_.joinable()) accept_thread_.join();
  lock.lock();
  idle_.wait(lock, [this] { return active_threads_ == 0; });
}

void NodeServer::AcceptLoop(int listen_fd) {
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // listener closed
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* conn = new Connection(fd);
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        delete conn;
        return;
      }
      connections_.insert(conn);
      ++active_threads_;
    }
    std::thread([this, conn] { Serve(conn); }).detach();
  }
}

namespace {

// A TLS ClientHello on a plain port: record type 22, version 3.x, handshake type 1.
bool LooksLikeClientHello(const char* b, size_t n) {
  return n >= 6 && b[0] == 22 && b[1] == 3 && b[5] == 1;
}

}  // namespace

void NodeServer::Serve(Connection* conn) {
  Session session;
  session.authenticated = !cluster_.security_enabled();
  std::string body;
  bool ok = true;
  if (cluster_.tls_enabled()) {
    Status st = conn->AcceptTls(cluster_.tls()->ctx());
    if (!st.ok()) {
      ABS_LOG_DEBUG("node {}: {}", index_, st.ToString());
      ok = false;
    } else {
      session.certificate_user = conn->PeerCommonName();
    }
  } else {
    char peek[6];
    size_t n = conn->Peek(peek, sizeof peek);
    if (LooksLikeClientHello(peek, n)) {
      ABS_LOG_DEBUG("node {}: TLS handshake on a plain port; dropping", index_);
      ok = false;
    }
  }
  while (ok) {
    char header[wire::kProtoHeaderSize];
    if (!conn->ReadExact(header, sizeof header).ok()) break;
    auto h = wire::DecodeProtoHeader(std::string_view(header, sizeof header));
    if (!h.ok()) {
      ABS_LOG_WARN("node {}: dropping connection: {}", index_, h.status().ToString());
      break;
    }
    body.resize(h->body_size);
    if (!conn->ReadExact(body.data(), body.size()).ok()) break;
    uint32_t latency = cluster_.faults(index_).latency_ms.load();
    if (latency > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency));
    Status st = HandleProto(*conn, session, static_cast<uint8_t>(h->type), body);
    if (!st.ok()) {
      ABS_LOG_DEBUG("node {}: closing connection: {}", index_, st.ToString());
      break;
    }
  }
  std::lock_guard lock(mu_);
  connections_.erase(conn);
  delete conn;
  // This thread's OpenSSL state (its error queue above all) goes before Stop() may return:
  // a process that exits right after must not find it unfreed.
  OPENSSL_thread_stop();
  --active_threads_;
  idle_.notify_all();
}

Status NodeServer::HandleProto(Connection& conn, Session& session, uint8_t type,
                               std::string& body) {
  RequestContext ctx{cluster_, index_, conn, session};
  switch (static_cast<wire::ProtoType>(type)) {
    case wire::ProtoType::kInfo:
      return conn.WriteAll(HandleInfo(ctx, body));
    case wire::ProtoType::kAdmin:
      return conn.WriteAll(HandleAdmin(ctx, body));
    case wire::ProtoType::kMessage:
      return HandleMessage(ctx, body);
    case wire::ProtoType::kCompressed: {
      auto inner = wire::DecompressMessageBody(body);
      if (!inner.ok()) return inner.status();
      std::string_view msg = std::string_view(*inner).substr(wire::kProtoHeaderSize);
      return HandleMessage(ctx, msg);
    }
    default:
      return Status::Corrupt("proto type " + std::to_string(type) + " is not served");
  }
}

}  // namespace absvc::devcluster
