// Seed hosts: "host", "host:port", "host:tls-name:port", "[v6]:port", comma-separated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::client {

struct Host {
  std::string name;  // address or host name
  uint16_t port = 3000;
  std::string tls_name;  // verified against the server certificate when TLS is on

  std::string ToString() const;
  bool operator==(const Host&) const = default;
};

Result<Host> ParseHost(std::string_view text, uint16_t default_port = 3000);
Result<std::vector<Host>> ParseHosts(std::string_view text, uint16_t default_port = 3000);

}  // namespace absvc::client
