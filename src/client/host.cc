#include "client/host.h"

#include <charconv>

#include "wire/info.h"

namespace absvc::client {

std::string Host::ToString() const {
  std::string h = name.find(':') != std::string::npos ? "[" + name + "]" : name;
  if (!tls_name.empty()) h += ":" + tls_name;
  return h + ":" + std::to_string(port);
}

namespace {

bool ParsePort(std::string_view s, uint16_t* port) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(v);
  return true;
}

bool ValidName(std::string_view s, bool bracketed) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || (bracketed && (c == ':' || c == '%'));
    if (!ok) return false;
  }
  return !s.empty();
}

}  // namespace

Result<Host> ParseHost(std::string_view text, uint16_t default_port) {
  Host h;
  h.port = default_port;
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("host '" + std::string(text) + "' " + why +
                                   " (expected host, host:port or host:tls-name:port)");
  };
  if (text.empty()) return bad("is empty");
  std::string_view rest;
  if (text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '['");
    h.name = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("has characters after ']'");
      rest = rest.substr(1);
    }
  } else {
    size_t colon = text.find(':');
    h.name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos)
      rest = text.substr(colon + 1);
    else
      rest = {};
    if (colon != std::string_view::npos && rest.empty()) return bad("has an empty port");
  }
  if (h.name.empty()) return bad("has no host name");
  if (!ValidName(h.name, text[0] == '[')) return bad("has a character not allowed in a host name");
  if (text[0] == '[' && h.name.find(':') == std::string::npos) {
    return bad("has brackets around something that is not an IPv6 address");
  }
  if (!rest.empty()) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
      if (!ParsePort(rest, &h.port)) return bad("has a bad port");
    } else {
      h.tls_name = std::string(rest.substr(0, colon));
      if (!ValidName(h.tls_name, false)) return bad("has an empty or invalid tls-name");
      if (!ParsePort(rest.substr(colon + 1), &h.port)) return bad("has a bad port");
    }
  }
  return h;
}

Result<std::vector<Host>> ParseHosts(std::string_view text, uint16_t default_port) {
  std::vector<Host> hosts;
  for (std::string_view item : wire::SplitUserList(text, ',')) {
    ABS_ASSIGN_OR_RETURN(Host h, ParseHost(item, default_port));
    hosts.push_back(std::move(h));
  }
  return hosts;
}

}  // namespace absvc::client
