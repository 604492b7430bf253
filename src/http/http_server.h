// absd's HTTP/1.1 server: httplib routes and answers requests, and this class owns the
// connections. One epoll thread accepts, reads and writes every connection without
// blocking, and hands a worker a request only once all of it has arrived (see
// RequestFramer), so idle, slow or half-sent connections cost a buffer, never a thread.
// Each wait has a deadline (an idle connection, a request still arriving, an answer the
// client does not read); each client address holds at most max_per_client connections
// and all clients max_connections: past either cap, the connection that has waited
// longest for its client to send is closed to make room. Keep-alive and pipelining work:
// requests on one connection are answered one at a time, in order.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::service {

class HttpsContext;

struct HttpLimits {
  size_t max_connections = 0;  // 0: half the process's open-file limit, at most 16384
  size_t max_per_client = 256;
  std::chrono::milliseconds idle_timeout{5000};      // between requests
  std::chrono::milliseconds request_timeout{10000};  // from a request's first byte to its last
  std::chrono::milliseconds write_timeout{10000};    // for an answer to leave
  size_t min_bytes_per_second = 64 << 10;  // a body or answer gets this much longer to move
  size_t max_head_bytes = 64 << 10;
  size_t max_body_bytes = 16 << 20;
  size_t body_budget_bytes = 256 << 20;  // request bodies held at once, all connections
  size_t max_requests_per_connection = 1000;
  size_t max_workers = 64;
};

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(HttpLimits limits = {});
  ~HttpServer() override;

  // Binds address:port (port 0 picks a free one) and serves it on a background thread
  // until Shutdown; with `tls`, over TLS. Each call adds a listener; all serve the same
  // routes. Answers the port bound.
  Result<int> Listen(const std::string& address, int port,
                     std::shared_ptr<HttpsContext> tls = nullptr);
  int port() const { return port_; }  // the first listener's
  void Shutdown();

  struct Counters {
    uint64_t accepted = 0, requests = 0;
    uint64_t evicted = 0;    // closed to make room under a cap
    uint64_t timed_out = 0;  // closed at a deadline
    uint64_t refused = 0;    // closed at once: nothing could make room
    uint64_t open = 0;
    uint64_t tls_handshakes_failed = 0;
  };
  Counters counters() const;

 private:
  struct Loop;
  // Runs one whole request through httplib's parsing, routing and answer writing.
  bool Process(httplib::Stream& stream, bool last, bool& connection_closed);

  HttpLimits limits_;
  // Guarded by loops_mu_: a request on one listener (GET /metrics) reads the counters of
  // all while a second listener (HTTPS) may still be starting.
  mutable std::mutex loops_mu_;
  std::vector<std::unique_ptr<Loop>> loops_;
  int port_ = 0;
};

}  // namespace absvc::service
