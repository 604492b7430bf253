// ABS's REST API (v1) over cpp-httplib, under the configured context-path. Handlers only
// parse, call Service, and map Status codes to HTTP codes; errors are JSON
// {"error": <kind>, "message": <text>}.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "service/service.h"

namespace httplib {
class Server;
}

namespace absvc::service {

class HttpApi {
 public:
  explicit HttpApi(Service& service);
  ~HttpApi();

  // Binds address:port (port 0 picks a free one) and serves on a background thread.
  Status Start(const std::string& address, int port);
  int port() const { return port_; }
  void Stop();

 private:
  void Register();
  Service& service_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  struct RateLimiter;
  std::unique_ptr<RateLimiter> rate_;
};

}  // namespace absvc::service
