// ABS's REST API (v1), routed by cpp-httplib and served by HttpServer, under the
// configured context-path. Handlers only parse, call Service, and map Status codes to
// HTTP codes; errors are JSON {"error": <kind>, "message": <text>}.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/http_server.h"
#include "http/https_context.h"
#include "service/service.h"

namespace absvc::service {

// Whether `ip` is the address `cidr` names or lies in the network it names (IPv4 or IPv6;
// an address of the other family never matches): http.rate.white-list.
bool AddressInCidr(const std::string& ip, const std::string& cidr);

class HttpApi {
 public:
  // Connection limits from the service's http config, or as given.
  explicit HttpApi(Service& service);
  HttpApi(Service& service, HttpLimits limits);
  ~HttpApi();

  // Binds address:port (port 0 picks a free one) and serves on a background thread.
  Status Start(const std::string& address, int port);
  // The same API over TLS on another port.
  Status StartHttps(const std::string& address, int port, std::shared_ptr<HttpsContext> tls);
  int port() const { return port_; }
  int https_port() const { return https_port_; }
  void Stop();
  HttpServer::Counters connection_counters() const { return server_->counters(); }

  // Every route the API serves: method and path pattern (a regex, without the
  // context-path). docs/openapi.yaml documents each; a test holds them together.
  struct Route {
    std::string method, pattern;
  };
  const std::vector<Route>& routes() const { return routes_; }

 private:
  void Register();
  Service& service_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0, https_port_ = 0;
  std::vector<Route> routes_;
  struct RateLimiter;
  std::unique_ptr<RateLimiter> rate_;
};

}  // namespace absvc::service
