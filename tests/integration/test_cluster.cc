#include "test_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "client/host.h"
#include "wire/info.h"
#include "wire/proto.h"

namespace absvc::testing {

std::string SiblingBinary(const std::string& name) {
  if (const char* bin = std::getenv("ABS_BIN")) return std::string(bin) + "/" + name;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return name;
  self[n] = '\0';
  std::string dir(self);
  return dir.substr(0, dir.rfind('/')) + "/" + name;
}

Result<std::unique_ptr<TestCluster>> TestCluster::Start(const DevClusterArgs& args) {
  const char* hosts = std::getenv("ABS_TEST_HOSTS");
  if (hosts && *hosts) {
    auto seeds = client::ParseHosts(hosts);
    if (!seeds.ok()) return seeds.status().WithContext("ABS_TEST_HOSTS");
    std::unique_ptr<TestCluster> c(new TestCluster());
    c->seeds_ = *seeds;
    return c;
  }
  return StartDevCluster(args);
}

Result<Spawned> SpawnWithStdout(const std::vector<std::string>& argv_s) {
  // Built before fork: the child of a threaded process must not allocate.
  std::vector<char*> argv;
  for (const auto& s : argv_s)
    argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  int out[2];
  if (::pipe(out) != 0) return Status::Internal("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  return Spawned{pid, out[0]};
}

Result<std::unique_ptr<TestCluster>> TestCluster::StartDevCluster(const DevClusterArgs& args) {
  std::mt19937 rng(
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      static_cast<unsigned>(::getpid()));
  std::string bin = SiblingBinary("abs-devcluster");
  for (int attempt = 0; attempt < 10; ++attempt) {
    uint16_t base = static_cast<uint16_t>(20000 + rng() % 30000);
    std::vector<std::string> argv_s = {bin, "--nodes", std::to_string(args.nodes), "--base-port",
                                       std::to_string(base)};
    argv_s.insert(argv_s.end(), args.extra.begin(), args.extra.end());
    ABS_ASSIGN_OR_RETURN(Spawned child, SpawnWithStdout(argv_s));
    const int child_out = child.stdout_fd;
    std::unique_ptr<TestCluster> c(new TestCluster());
    c->pid_ = child.pid;
    std::string text;
    char buf[4096];
    bool ready = false;
    while (!ready) {
      ssize_t n = ::read(child_out, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      ready = text.find("\nready") != std::string::npos || text.rfind("ready", 0) == 0;
    }
    ::close(child_out);
    if (!ready) continue;  // port taken, most likely; the destructor reaps the child
    size_t pos = 0;
    while ((pos = text.find("node ", pos)) != std::string::npos) {
      DevNode n;
      char id[64] = {};
      unsigned port = 0, rack = 0;
      int index = 0;
      if (std::sscanf(text.c_str() + pos, "node %d id=%63s port=%u rack=%u", &index, id, &port,
                      &rack) == 4) {
        n.id = id;
        n.port = static_cast<uint16_t>(port);
        n.rack = rack;
        c->nodes_.push_back(n);
      }
      pos += 5;
    }
    std::string tls_name;
    if (size_t t = text.find("tls-name="); t != std::string::npos) {
      tls_name = text.substr(t + 9, text.find('\n', t) - t - 9);
    }
    for (const auto& n : c->nodes_)
      c->seeds_.push_back({"127.0.0.1", n.port, tls_name});
    return c;
  }
  return Status::Internal("could not start " + bin);
}

TestCluster::~TestCluster() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

client::ClientOptions TestCluster::Options() const {
  client::ClientOptions o;
  o.seeds = seeds_;
  o.tend_interval = std::chrono::milliseconds(200);
  if (const char* user = std::getenv("ABS_TEST_USER")) o.user = user;
  if (const char* pw = std::getenv("ABS_TEST_PASSWORD")) o.password = pw;
  return o;
}

Result<std::string> TestCluster::RawInfo(int node, const std::string& command) const {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(nodes_.at(static_cast<size_t>(node)).port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return Status::Network("connect failed");
  }
  std::string req = wire::BuildInfoRequest({command});
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char h[8];
  size_t got = 0;
  while (got < 8) {
    ssize_t n = ::recv(fd, h + got, 8 - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  auto header = wire::DecodeProtoHeader(std::string_view(h, got));
  if (!header.ok()) {
    ::close(fd);
    return header.status();
  }
  std::string body(header->body_size, '\0');
  got = 0;
  while (got < body.size()) {
    ssize_t n = ::recv(fd, body.data() + got, body.size() - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  auto pairs = wire::ParseInfoResponse(body);
  if (pairs.empty()) return Status::Corrupt("empty info answer");
  return pairs[0].value;
}

// A port nobody uses on 127.0.0.1, for an absd that is started (and restarted) on it. It
// is taken below the kernel's ephemeral range: a port from that range, once released, can
// become the source port of any outgoing connection, and a restarted absd would then find
// its port taken. 0 when none can be found.
int FreeLocalPort() {
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    int candidate = low > 11000 ? std::uniform_int_distribution<int>(10000, low - 1)(rng) : 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(candidate));
    int port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    close(fd);
    if (port != 0) return port;
  }
  return 0;
}

}  // namespace absvc::testing
