#include "http/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/tls.h"
#include "http/http_framing.h"
#include "http/https_context.h"

namespace absvc::service {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenerId = 0;
constexpr uint64_t kWakeId = 1;
constexpr int kListenBacklog = 1024;
constexpr int kSweepMs = 100;
constexpr auto kPauseAccepting = std::chrono::milliseconds(100);
// After a last answer the connection is half-closed and what the client still sends is
// read and dropped for a while: closing with unread bytes would reset the connection and
// could destroy the answer on its way.
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr size_t kReadChunk = 64 << 10;

// Runs request handlers. Grows to `max` threads while requests wait; threads idle for
// 30 s leave. Handlers are the only work here, so a thread is busy only while absd is.
class WorkerPool {
 public:
  explicit WorkerPool(size_t max) : max_(std::max<size_t>(1, max)) {}

  void Submit(std::function<void()> fn) {
    std::unique_lock lock(mu_);
    jobs_.push_back(std::move(fn));
    // Idle threads already woken for earlier jobs may not have taken them yet: a thread
    // is added whenever the waiting jobs outnumber the idle threads.
    if (jobs_.size() > idle_ && threads_ < max_) {
      ++threads_;
      try {
        std::thread([this] { Work(); }).detach();
      } catch (const std::system_error&) {
        --threads_;  // the job waits for a running thread, if there is one
        if (threads_ == 0) {
          auto job = std::move(jobs_.back());
          jobs_.pop_back();
          lock.unlock();
          job();  // none: run it here rather than strand it
          return;
        }
      }
    }
    work_cv_.notify_one();
  }

  // Runs the jobs already submitted, then waits for every thread to leave.
  void Shutdown() {
    std::unique_lock lock(mu_);
    shutdown_ = true;
    work_cv_.notify_all();
    done_cv_.wait(lock, [this] { return threads_ == 0; });
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    while (true) {
      ++idle_;
      bool has_work = work_cv_.wait_for(lock, std::chrono::seconds(30),
                                        [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (!has_work || jobs_.empty()) break;  // idle too long, or shutting down
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
    --threads_;
    done_cv_.notify_all();
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0, idle_ = 0;
  bool shutdown_ = false;
};

// One whole request for httplib to read, and the answer it writes.
class BufferStream : public httplib::Stream {
 public:
  BufferStream(std::string request, std::string client, int client_port, int local_port)
      : in_(std::move(request)),
        client_(std::move(client)),
        client_port_(client_port),
        local_port_(local_port) {}

  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, size);
    pos_ += size;
    return static_cast<ssize_t>(size);
  }
  ssize_t write(const char* ptr, size_t size) override {
    // The whole body is here already (the loop asked for it, if the client was waiting):
    // httplib's "100 Continue" would be a late, second interim answer.
    if (out.empty() && std::string_view(ptr, size).starts_with("HTTP/1.1 100 ")) {
      return static_cast<ssize_t>(size);
    }
    out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = client_;
    port = client_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = local_port_;
  }
  int socket() const override { return -1; }

  std::string out;

 private:
  std::string in_;
  size_t pos_ = 0;
  std::string client_;
  int client_port_, local_port_;
};

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

// A last answer written by the loop itself, for a request httplib never sees.
std::string ErrorAnswer(int status, const std::string& message) {
  nlohmann::json body = {{"error", "http"}, {"message", message}};
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
         "\r\nConnection: close\r\n\r\n" + text;
}

bool AnswerClosesConnection(const std::string& answer) {
  size_t head_end = answer.find("\r\n\r\n");
  std::string_view head(answer.data(), head_end == std::string::npos ? answer.size() : head_end);
  return head.find("\r\nConnection: close") != std::string_view::npos;
}

std::string PeerAddress(const sockaddr_storage& addr, socklen_t len, int* port) {
  char host[NI_MAXHOST] = {0}, serv[NI_MAXSERV] = {0};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    *port = 0;
    return "?";
  }
  *port = std::atoi(serv);
  return host;
}

size_t DefaultMaxConnections() {
  rlimit lim{};
  size_t soft = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                    ? static_cast<size_t>(lim.rlim_cur)
                    : 1024;
  return std::clamp<size_t>(soft / 2, 64, 16384);
}

}  // namespace

struct HttpServer::Loop {
  enum class Phase { kReading, kBusy, kWriting, kDraining };
  struct Conn {
    Conn(uint64_t id, RequestFramer::Limits limits) : id(id), framer(limits) {}
    const uint64_t id;
    int fd = -1;
    SSL* ssl = nullptr;            // over TLS: the session, handshake included
    bool tls_wants_write = false;  // a TLS read waits for the socket to take bytes
    uint32_t events = 0;           // watched
    std::string client;
    int client_port = 0;
    Phase phase = Phase::kReading;
    bool watched = false;
    std::string in;  // received, not yet handed over
    RequestFramer framer;
    bool request_started = false, head_checked = false, continue_sent = false;
    bool peer_closed = false;  // the client sent its last byte
    Clock::time_point waiting_since, deadline;
    size_t reserved = 0;  // of the body budget
    size_t requests = 0;
    std::string out;  // the answer being written
    size_t out_sent = 0;
    bool close_after = false;
  };
  struct Done {
    uint64_t id;
    std::string answer;
    bool close;
  };

  Loop(HttpServer& server, HttpLimits limits, int listener, int port,
       std::shared_ptr<HttpsContext> tls)
      : server(server),
        limits(limits),
        listener(listener),
        port(port),
        tls(std::move(tls)),
        workers(limits.max_workers) {
    if (this->limits.max_connections == 0) this->limits.max_connections = DefaultMaxConnections();
  }

  Status Start() {
    epoll = ::epoll_create1(EPOLL_CLOEXEC);
    wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll < 0 || wake < 0) return Status::Io(std::string("epoll: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerId;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
    ev.data.u64 = kWakeId;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &ev);
    thread = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    stopping = true;
    Wake();
    if (thread.joinable()) thread.join();
    workers.Shutdown();  // answers still being made are dropped with their connections
    for (auto& [id, c] : conns) {
      if (c.ssl) SSL_free(c.ssl);
      ::close(c.fd);
    }
    conns.clear();
    for (int fd : {listener, epoll, wake}) {
      if (fd >= 0) ::close(fd);
    }
    listener = epoll = wake = -1;
  }

  void Wake() {
    uint64_t one = 1;
    if (wake >= 0) (void)!::write(wake, &one, sizeof one);
  }

  void Run() {
    std::vector<epoll_event> events(256);
    auto last_sweep = Clock::now();
    while (!stopping) {
      int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), kSweepMs);
      if (n < 0 && errno != EINTR) {
        ABS_LOG_ERROR("http: epoll_wait: {}", std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; ++i) {
        uint64_t id = events[i].data.u64;
        if (id == kListenerId) {
          Accept();
        } else if (id == kWakeId) {
          uint64_t count;
          (void)!::read(wake, &count, sizeof count);
          TakeDone();
        } else {
          OnEvent(id, events[i].events);
        }
      }
      auto now = Clock::now();
      if (now - last_sweep >= std::chrono::milliseconds(kSweepMs)) {
        Sweep(now);
        last_sweep = now;
      }
    }
  }

  void Watch(Conn& c, uint32_t events) {
    if (c.watched && c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll, c.watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
    c.watched = true;
    c.events = events;
  }
  void Unwatch(Conn& c) {
    if (c.watched) ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    c.watched = false;
    c.events = 0;
  }

  // The connection's bytes in and out, through TLS when the listener has it. Both answer
  // as recv/send do: > 0 bytes moved; 0 the client closed (Receive only); -1 with errno
  // EAGAIN when the socket must become ready first, or another errno when it failed.
  ssize_t Receive(Conn& c, char* buf, size_t n) {
    if (!c.ssl) return ::recv(c.fd, buf, n, 0);
    ERR_clear_error();
    int got = SSL_read(c.ssl, buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
    if (got > 0) return got;
    return TlsFailure(c, got, "read");
  }
  ssize_t Send(Conn& c, const char* buf, size_t n) {
    if (!c.ssl) return ::send(c.fd, buf, n, MSG_NOSIGNAL);
    ERR_clear_error();
    int sent = SSL_write(c.ssl, buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
    if (sent > 0) return sent;
    ssize_t r = TlsFailure(c, sent, "write");
    return r == 0 ? (errno = EPIPE, -1) : r;
  }
  ssize_t TlsFailure(Conn& c, int rc, const char* op) {
    int err = SSL_get_error(c.ssl, rc);
    c.tls_wants_write = err == SSL_ERROR_WANT_WRITE;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_SYSCALL && errno != 0 && errno != EAGAIN) return -1;
    if (!SSL_is_init_finished(c.ssl)) {
      ++tls_failed;
      long verify = SSL_get_verify_result(c.ssl);
      ABS_LOG_INFO(
          "https: handshake with {} failed: {}", c.client,
          verify != X509_V_OK ? X509_verify_cert_error_string(verify) : tls::OpenSslErrors());
    } else {
      ABS_LOG_DEBUG("https: {} on a connection from {} failed: {}", op, c.client,
                    tls::OpenSslErrors());
    }
    ERR_clear_error();
    errno = EPROTO;
    return -1;
  }

  void Accept() {
    while (true) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&addr), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the longest wait makes room, else accepting pauses.
          if (EvictLongestWaiting(nullptr)) continue;
          PauseAccepting();
          return;
        }
        ABS_LOG_WARN("http: accept: {}", std::strerror(errno));
        return;
      }
      ++accepted;
      int client_port = 0;
      std::string client = PeerAddress(addr, len, &client_port);
      bool room = (ClientCount(client) < limits.max_per_client || EvictLongestWaiting(&client)) &&
                  (conns.size() < limits.max_connections || EvictLongestWaiting(nullptr));
      if (!room) {
        ::close(fd);
        ++refused;
        continue;
      }
      int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      SSL* ssl = nullptr;
      if (tls) {
        // The context is looked up per connection: a renewed certificate is served from
        // the next connection on.
        std::shared_ptr<SSL_CTX> ctx = tls->Current();
        ssl = SSL_new(ctx.get());
        if (!ssl || !tls::AttachSocket(ssl, fd)) {
          ABS_LOG_ERROR("https: cannot start TLS: {}", tls::OpenSslErrors());
          if (ssl) SSL_free(ssl);
          ::close(fd);
          ++refused;
          continue;
        }
        SSL_set_accept_state(ssl);
      }
      uint64_t id = next_id++;
      auto [it, _] = conns.try_emplace(
          id, id, RequestFramer::Limits{limits.max_head_bytes, limits.max_body_bytes});
      Conn& c = it->second;
      c.fd = fd;
      c.ssl = ssl;
      c.client = client;
      c.client_port = client_port;
      c.waiting_since = Clock::now();
      c.deadline = c.waiting_since + limits.idle_timeout;
      by_client[client].insert(id);
      open = conns.size();
      Watch(c, EPOLLIN);
    }
  }

  size_t ClientCount(const std::string& client) const {
    auto it = by_client.find(client);
    return it == by_client.end() ? 0 : it->second.size();
  }

  // Closes the connection, of `client` or of anyone, that has waited longest for its
  // client to send (a connection already answered and draining goes first). Connections
  // whose request is being served or answered are never taken.
  bool EvictLongestWaiting(const std::string* client) {
    uint64_t victim = 0;
    Clock::time_point oldest = Clock::time_point::max();
    auto consider = [&](uint64_t id, const Conn& c) {
      if (c.phase == Phase::kDraining) {
        victim = id;
        oldest = Clock::time_point::min();
      } else if (c.phase == Phase::kReading && c.waiting_since < oldest) {
        victim = id;
        oldest = c.waiting_since;
      }
    };
    if (client) {
      auto it = by_client.find(*client);
      if (it == by_client.end()) return false;
      for (uint64_t id : it->second)
        consider(id, conns.at(id));
    } else {
      for (const auto& [id, c] : conns)
        consider(id, c);
    }
    if (victim == 0) return false;
    Close(victim);
    ++evicted;
    return true;
  }

  void PauseAccepting() {
    epoll_event ev{};
    ev.data.u64 = kListenerId;
    ::epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &ev);
    accepting = false;
    resume_accepting = Clock::now() + kPauseAccepting;
  }

  void Close(uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    Conn& c = it->second;
    Unwatch(c);
    if (c.ssl) SSL_free(c.ssl);
    ::close(c.fd);
    budget_used -= c.reserved;
    auto client = by_client.find(c.client);
    if (client != by_client.end()) {
      client->second.erase(id);
      if (client->second.empty()) by_client.erase(client);
    }
    conns.erase(it);
    open = conns.size();
  }

  void OnEvent(uint64_t id, uint32_t events) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    Conn& c = it->second;
    switch (c.phase) {
      case Phase::kReading:
        Read(id, c);
        break;
      case Phase::kWriting:
        Write(id, c);
        break;
      case Phase::kDraining:
        Drain(id, c);
        break;
      case Phase::kBusy:
        break;  // not watched while busy
    }
  }

  void Read(uint64_t id, Conn& c) {
    while (c.phase == Phase::kReading) {
      ssize_t n = Receive(c, scratch, sizeof scratch);
      if (n > 0) {
        c.in.append(scratch, static_cast<size_t>(n));
        if (!Advance(id, c)) return;  // closed
        continue;
      }
      if (n == 0) {
        c.peer_closed = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // A TLS handshake may have to send before it can read on.
        Watch(c, c.tls_wants_write ? EPOLLIN | EPOLLOUT : EPOLLIN);
        return;
      }
      Close(id);
      return;
    }
    // The client has sent its last byte: an incomplete request can never be answered.
    if (c.peer_closed && c.phase == Phase::kReading) Close(id);
  }

  // Frames what has arrived and hands over a whole request. False when the connection
  // was closed.
  bool Advance(uint64_t id, Conn& c) {
    if (c.phase != Phase::kReading || c.in.empty()) return true;
    auto now = Clock::now();
    if (!c.request_started) {
      c.request_started = true;
      c.waiting_since = now;
      c.deadline = now + limits.request_timeout;
    }
    auto state = c.framer.Feed(c.in);
    if (state == RequestFramer::State::kBad) {
      return Reject(id, c, c.framer.error_status(), c.framer.error());
    }
    if (c.framer.head_complete() && !c.head_checked) {
      c.head_checked = true;
      size_t body =
          c.framer.chunked() ? limits.max_body_bytes : c.framer.content_length().value_or(0);
      if (body > 0) {
        if (budget_used + body > limits.body_budget_bytes) {
          return Reject(id, c, 503, "absd holds too many request bodies; try again");
        }
        budget_used += body;
        c.reserved = body;
        c.deadline += std::chrono::milliseconds(body * 1000 /
                                                std::max<size_t>(1, limits.min_bytes_per_second));
      }
      if (c.framer.expects_continue() && state == RequestFramer::State::kNeedMore) {
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        // Best effort: a client that is not told waits a moment and sends anyway. Over TLS
        // a write that cannot finish now would have to be retried as it was: the
        // connection is closed instead (a socket that cannot take 25 bytes is gone).
        if (Send(c, kContinue, sizeof kContinue - 1) < 0 && c.ssl) {
          Close(id);
          return false;
        }
        c.continue_sent = true;
      }
    }
    if (state == RequestFramer::State::kNeedMore) return true;
    Dispatch(id, c);
    return true;
  }

  void Dispatch(uint64_t id, Conn& c) {
    std::string request = c.in.substr(c.framer.begin(), c.framer.end() - c.framer.begin());
    c.in.erase(0, c.framer.end());
    c.framer.Reset();
    c.request_started = c.head_checked = c.continue_sent = false;
    c.phase = Phase::kBusy;
    Unwatch(c);
    ++requests;
    bool last = ++c.requests >= limits.max_requests_per_connection;
    workers.Submit([this, id, last, request = std::move(request), client = c.client,
                    client_port = c.client_port]() mutable {
      BufferStream stream(std::move(request), std::move(client), client_port, port);
      bool closed = false, ok = false;
      try {
        ok = server.Process(stream, last, closed);
      } catch (const std::exception& e) {
        ABS_LOG_ERROR("http: request failed: {}", e.what());
        stream.out = ErrorAnswer(500, "internal error");
      }
      bool close = !ok || closed || last || AnswerClosesConnection(stream.out);
      {
        std::lock_guard lock(done_mu);
        done.push_back({id, std::move(stream.out), close});
      }
      Wake();
    });
  }

  void TakeDone() {
    std::vector<Done> ready;
    {
      std::lock_guard lock(done_mu);
      ready.swap(done);
    }
    for (auto& d : ready) {
      auto it = conns.find(d.id);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      budget_used -= c.reserved;
      c.reserved = 0;
      if (d.answer.empty()) {
        Close(d.id);
        continue;
      }
      StartWriting(d.id, c, std::move(d.answer), d.close || c.peer_closed);
    }
  }

  void StartWriting(uint64_t id, Conn& c, std::string answer, bool close_after) {
    c.out = std::move(answer);
    c.out_sent = 0;
    c.close_after = close_after;
    c.phase = Phase::kWriting;
    c.deadline = Clock::now() + limits.write_timeout +
                 std::chrono::milliseconds(c.out.size() * 1000 /
                                           std::max<size_t>(1, limits.min_bytes_per_second));
    Write(id, c);
  }

  // An answer for a request that cannot be framed: written, and the connection ends.
  bool Reject(uint64_t id, Conn& c, int status, const std::string& why) {
    ABS_LOG_DEBUG("http: {} from {}: {}", status, c.client, why);
    budget_used -= c.reserved;
    c.reserved = 0;
    c.in.clear();
    StartWriting(id, c, ErrorAnswer(status, why), true);
    return conns.count(id) > 0;
  }

  void Write(uint64_t id, Conn& c) {
    while (c.out_sent < c.out.size()) {
      ssize_t n = Send(c, c.out.data() + c.out_sent, c.out.size() - c.out_sent);
      if (n > 0) {
        c.out_sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        Watch(c, c.ssl && !c.tls_wants_write ? EPOLLIN : EPOLLOUT);
        return;
      }
      Close(id);
      return;
    }
    std::string().swap(c.out);
    if (c.close_after) {
      StartDraining(id, c);
      return;
    }
    c.phase = Phase::kReading;
    c.waiting_since = Clock::now();
    c.deadline = c.waiting_since + limits.idle_timeout;
    Watch(c, EPOLLIN);
    if (c.ssl && SSL_pending(c.ssl) > 0) {
      Read(id, c);  // a pipelined request already decrypted
    } else if (!c.in.empty()) {
      Advance(id, c);  // a pipelined request has already arrived
    }
  }

  void StartDraining(uint64_t id, Conn& c) {
    if (c.peer_closed) {
      Close(id);
      return;
    }
    if (c.ssl) {
      ERR_clear_error();
      (void)SSL_shutdown(c.ssl);  // close_notify, best effort
      ERR_clear_error();
    }
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::kDraining;
    std::string().swap(c.in);
    c.deadline = Clock::now() + kDrainTime;
    Watch(c, EPOLLIN);
  }

  void Drain(uint64_t id, Conn& c) {
    while (true) {
      ssize_t n = ::recv(c.fd, scratch, sizeof scratch, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close(id);
      return;
    }
  }

  void Sweep(Clock::time_point now) {
    if (!accepting && now >= resume_accepting) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenerId;
      ::epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &ev);
      accepting = true;
    }
    std::vector<uint64_t> expired;
    for (auto& [id, c] : conns) {
      if (c.phase == Phase::kBusy || now < c.deadline) continue;
      expired.push_back(id);
    }
    for (uint64_t id : expired) {
      Conn& c = conns.at(id);
      if (c.phase == Phase::kReading && c.request_started) {
        // A request still arriving at its deadline: told why, best effort, and closed.
        std::string answer = ErrorAnswer(408, "the request did not arrive in time");
        (void)Send(c, answer.data(), answer.size());
        ++timed_out;
      } else if (c.phase == Phase::kWriting) {
        ++timed_out;
      }
      Close(id);
    }
  }

  HttpServer& server;
  HttpLimits limits;
  int listener, port;
  std::shared_ptr<HttpsContext> tls;  // null: plain HTTP
  int epoll = -1, wake = -1;
  WorkerPool workers;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // Owned by the loop thread.
  std::map<uint64_t, Conn> conns;  // ids grow in accept order
  std::unordered_map<std::string, std::set<uint64_t>> by_client;
  uint64_t next_id = 2;
  size_t budget_used = 0;
  bool accepting = true;
  Clock::time_point resume_accepting;
  char scratch[kReadChunk];

  std::mutex done_mu;
  std::vector<Done> done;

  std::atomic<uint64_t> accepted{0}, requests{0}, evicted{0}, timed_out{0}, refused{0}, open{0},
      tls_failed{0};
};

HttpServer::HttpServer(HttpLimits limits) : limits_(limits) {
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(limits_.max_requests_per_connection);
  set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(limits_.idle_timeout).count()));
}

HttpServer::~HttpServer() {
  Shutdown();
}

bool HttpServer::Process(httplib::Stream& stream, bool last, bool& connection_closed) {
  return process_request(stream, last, connection_closed, nullptr);
}

Result<int> HttpServer::Listen(const std::string& address, int port,
                               std::shared_ptr<HttpsContext> tls) {
  const std::string where = address + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(), std::to_string(port).c_str(),
                         &hints, &found);
  if (rc != 0)
    return Status::InvalidArgument("cannot listen on " + where + ": " + gai_strerror(rc));
  int listener = -1, why = 0;
  for (addrinfo* ai = found; ai && listener < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      why = errno;
      continue;
    }
    // SO_REUSEADDR only, never SO_REUSEPORT: a second absd on the port must fail, not
    // take half the requests.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      why = errno;
      ::close(fd);
      continue;
    }
    listener = fd;
  }
  ::freeaddrinfo(found);
  if (listener < 0) {
    return Status::Io("cannot listen on " + where + ": " +
                      (why == EADDRINUSE ? std::string("the port is in use (another absd?)")
                                         : std::string(std::strerror(why))));
  }
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&local), &len);
  int bound = local.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  auto loop = std::make_unique<Loop>(*this, limits_, listener, bound, std::move(tls));
  Status st = loop->Start();
  if (!st.ok()) {
    loop->Stop();
    return st;
  }
  std::lock_guard lock(loops_mu_);
  if (loops_.empty()) port_ = bound;
  loops_.push_back(std::move(loop));
  return bound;
}

void HttpServer::Shutdown() {
  // Stopped outside the lock: a loop's last request may be reading the counters.
  std::vector<std::unique_ptr<Loop>> loops;
  {
    std::lock_guard lock(loops_mu_);
    loops.swap(loops_);
  }
  for (auto& loop : loops)
    loop->Stop();
}

HttpServer::Counters HttpServer::counters() const {
  Counters out;
  std::lock_guard lock(loops_mu_);
  for (const auto& loop : loops_) {
    out.accepted += loop->accepted;
    out.requests += loop->requests;
    out.evicted += loop->evicted;
    out.timed_out += loop->timed_out;
    out.refused += loop->refused;
    out.open += loop->open;
    out.tls_handshakes_failed += loop->tls_failed;
  }
  return out;
}

}  // namespace absvc::service
