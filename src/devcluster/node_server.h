// One devcluster node: a listening socket on its port and a thread per connection that
// reads protos and dispatches them to the info, admin and message handlers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/status.h"

namespace absvc::devcluster {

class Connection;
class DevCluster;

// Per-connection state the handlers share.
struct Session {
  bool authenticated = false;
  bool user_agent_set = false;
  std::string user;
  std::string certificate_user;  // CN of a verified client certificate
};

class NodeServer {
 public:
  NodeServer(DevCluster& cluster, int index) : cluster_(cluster), index_(index) {}
  ~NodeServer() { Stop(); }

  Status Start();
  // Closes the listener and every connection; returns when their threads have finished.
  void Stop();

 private:
  void AcceptLoop(int listen_fd);
  void Serve(Connection* conn);
  Status HandleProto(Connection& conn, Session& session, uint8_t type, std::string& body);

  DevCluster& cluster_;
  const int index_;
  int listen_fd_ = -1;
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<Connection*> connections_;
  int active_threads_ = 0;
  bool stopping_ = false;
};

}  // namespace absvc::devcluster
