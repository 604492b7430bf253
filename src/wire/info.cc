#include "wire/info.h"

#include <bit>
#include <charconv>
#include <cstdlib>

#include "common/base64.h"
#include "wire/proto.h"

namespace absvc::wire {

std::string BuildInfoRequest(const std::vector<std::string>& commands) {
  std::string out;
  size_t off = BeginProto(out);
  for (const auto& c : commands) {
    out.append(c);
    out.push_back('\n');
  }
  EndProto(out, off, ProtoType::kInfo);
  return out;
}

std::vector<std::string_view> SplitInfoRequest(std::string_view body) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos) nl = body.size();
    if (nl > start) out.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<InfoPair> ParseInfoResponse(std::string_view body) {
  std::vector<InfoPair> out;
  for (auto line : SplitInfoRequest(body)) {
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      out.push_back({std::string(line), ""});
    } else {
      out.push_back({std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))});
    }
  }
  return out;
}

void AppendInfoAnswer(std::string& body, std::string_view name, std::string_view value) {
  body.append(name);
  body.push_back('\t');
  body.append(value);
  body.push_back('\n');
}

std::optional<std::string> InfoCommand::Param(std::string_view key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return std::nullopt;
}

InfoCommand ParseInfoCommand(std::string_view text) {
  InfoCommand cmd;
  size_t colon = text.find(':');
  std::string_view head = text.substr(0, colon);
  size_t slash = head.find('/');
  cmd.name = std::string(head.substr(0, slash));
  while (slash != std::string_view::npos) {
    size_t next = head.find('/', slash + 1);
    cmd.args.emplace_back(head.substr(
        slash + 1, next == std::string_view::npos ? std::string_view::npos : next - slash - 1));
    slash = next;
  }
  if (colon != std::string_view::npos) cmd.params = ParseKeyValues(text.substr(colon + 1));
  return cmd;
}

std::vector<std::pair<std::string, std::string>> ParseKeyValues(std::string_view text,
                                                                char separator) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    auto item = text.substr(start, end - start);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(std::string(item), "");
      } else {
        out.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> SplitList(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> SplitUserList(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    out.push_back(item);
    if (end == text.size()) return out;
    start = end + 1;
  }
}

std::map<std::string, uint32_t, std::less<>> ParseRackIds(std::string_view value) {
  std::map<std::string, uint32_t, std::less<>> racks;
  for (auto item : SplitList(value, ';')) {
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) continue;
    uint32_t rack = 0;
    std::string_view id = item.substr(colon + 1);
    auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), rack);
    if (ec == std::errc() && p == id.data() + id.size())
      racks[std::string(item.substr(0, colon))] = rack;
  }
  return racks;
}

std::optional<InfoError> ParseInfoError(std::string_view value) {
  std::string_view rest;
  if (value.rfind("ERROR:", 0) == 0) {
    rest = value.substr(6);
  } else if (value.rfind("FAIL:", 0) == 0) {
    rest = value.substr(5);
  } else if (value == "ERROR" || value == "FAIL") {
    return InfoError{1, ""};
  } else {
    return std::nullopt;
  }
  InfoError e;
  size_t colon = rest.find(':');
  std::string_view code = rest.substr(0, colon);
  int parsed = 0;
  auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), parsed);
  if (ec == std::errc() && p == code.data() + code.size() && parsed != 0) {
    e.code = parsed;
    e.message = colon == std::string_view::npos ? "" : std::string(rest.substr(colon + 1));
  } else if (code.empty() && colon != std::string_view::npos) {
    e.message = std::string(rest.substr(colon + 1));
  } else {
    e.message = std::string(rest);
  }
  return e;
}

std::string FormatInfoError(int code, std::string_view message) {
  std::string s = "ERROR:";
  if (code != 1) s += std::to_string(code);
  s += ":";
  s.append(message);
  return s;
}

std::string PartitionBitmap::ToBase64() const {
  return Base64Encode(bytes_);
}

Result<PartitionBitmap> PartitionBitmap::FromBase64(std::string_view b64) {
  if (b64.size() != kPartitionBitmapBase64) {
    return Status::Corrupt("partition bitmap is " + std::to_string(b64.size()) +
                           " base64 characters, expected 684");
  }
  PartitionBitmap bm;
  auto decoded = Base64Decode(b64);
  if (!decoded || decoded->size() != kPartitionBitmapBytes) {
    return Status::Corrupt("partition bitmap is not valid base64");
  }
  bm.bytes_ = std::move(*decoded);
  return bm;
}

uint32_t PartitionBitmap::Count() const {
  uint32_t n = 0;
  for (unsigned char c : bytes_)
    n += static_cast<uint32_t>(std::popcount(c));
  return n;
}

std::string FormatReplicas(const std::vector<NamespaceReplicas>& namespaces) {
  std::string out;
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const auto& ns = namespaces[i];
    if (i > 0) out.push_back(';');
    out += ns.ns + ":" + std::to_string(ns.regime) + "," + std::to_string(ns.columns.size());
    for (const auto& col : ns.columns) {
      out.push_back(',');
      out += col.ToBase64();
    }
  }
  return out;
}

namespace {

bool ParseU64(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::vector<NamespaceReplicas>> ParseReplicas(std::string_view value) {
  std::vector<NamespaceReplicas> out;
  size_t start = 0;
  while (start < value.size()) {
    size_t end = value.find(';', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view entry = value.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    size_t colon = entry.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::Corrupt("replicas entry without '<namespace>:'");
    }
    NamespaceReplicas ns;
    ns.ns = std::string(entry.substr(0, colon));
    std::vector<std::string_view> parts;
    std::string_view rest = entry.substr(colon + 1);
    size_t p = 0;
    while (p <= rest.size()) {
      size_t comma = rest.find(',', p);
      if (comma == std::string_view::npos) comma = rest.size();
      parts.push_back(rest.substr(p, comma - p));
      p = comma + 1;
    }
    if (parts.size() < 3) return Status::Corrupt("replicas entry for " + ns.ns + " is too short");
    uint64_t regime = 0, n = 0;
    if (!ParseU64(parts[0], &regime) || !ParseU64(parts[1], &n) || n < 1 || n > 255) {
      return Status::Corrupt("replicas entry for " + ns.ns + " has a bad regime or count");
    }
    if (parts.size() != n + 2) {
      return Status::Corrupt("replicas entry for " + ns.ns + " declares " + std::to_string(n) +
                             " columns but has " + std::to_string(parts.size() - 2));
    }
    ns.regime = static_cast<uint32_t>(regime);
    for (size_t i = 2; i < parts.size(); ++i) {
      auto bm = PartitionBitmap::FromBase64(parts[i]);
      if (!bm.ok()) return bm.status().WithContext("replicas for " + ns.ns);
      ns.columns.push_back(std::move(bm).value());
    }
    out.push_back(std::move(ns));
  }
  return out;
}

std::string FormatPeers(const PeersAnswer& answer) {
  std::string out =
      std::to_string(answer.generation) + "," + std::to_string(answer.default_port) + ",[";
  for (size_t i = 0; i < answer.peers.size(); ++i) {
    const auto& peer = answer.peers[i];
    if (i > 0) out.push_back(',');
    out += "[" + peer.node_id + "," + peer.tls_name + ",[";
    for (size_t j = 0; j < peer.endpoints.size(); ++j) {
      const auto& [host, port] = peer.endpoints[j];
      if (j > 0) out.push_back(',');
      bool v6 = host.find(':') != std::string::npos;
      out += v6 ? "[" + host + "]" : host;
      if (port != answer.default_port) out += ":" + std::to_string(port);
    }
    out += "]]";
  }
  out += "]";
  return out;
}

namespace {

// Reads a bracketed list item by item; items may themselves be bracketed.
class PeerParser {
 public:
  explicit PeerParser(std::string_view s) : s_(s) {}

  bool Expect(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  std::string_view Token() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ']')
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // An endpoint: "host", "host:port", "[v6]" or "[v6]:port".
  std::string_view Endpoint() {
    size_t start = pos_;
    if (Peek('[')) {
      while (pos_ < s_.size() && s_[pos_] != ']')
        ++pos_;
      if (pos_ < s_.size()) ++pos_;
    }
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ']')
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool SplitEndpoint(std::string_view ep, uint16_t default_port, std::string* host, uint16_t* port) {
  *port = default_port;
  std::string_view port_text;
  if (!ep.empty() && ep[0] == '[') {
    size_t close = ep.find(']');
    if (close == std::string_view::npos) return false;
    *host = std::string(ep.substr(1, close - 1));
    if (close + 1 < ep.size()) {
      if (ep[close + 1] != ':') return false;
      port_text = ep.substr(close + 2);
    }
  } else {
    size_t colon = ep.find(':');
    *host = std::string(ep.substr(0, colon));
    if (colon != std::string_view::npos) port_text = ep.substr(colon + 1);
  }
  if (host->empty()) return false;
  if (!port_text.empty()) {
    uint64_t p = 0;
    if (!ParseU64(port_text, &p) || p == 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  }
  return true;
}

}  // namespace

Result<PeersAnswer> ParsePeers(std::string_view value) {
  auto bad = [&](const std::string& why) {
    return Status::Corrupt("peers answer " + why + ": '" + std::string(value.substr(0, 200)) + "'");
  };
  PeersAnswer a;
  PeerParser p(value);
  uint64_t gen = 0, port = 0;
  if (!ParseU64(p.Token(), &gen) || !p.Expect(',')) return bad("has no generation");
  if (!ParseU64(p.Token(), &port) || port > 65535 || !p.Expect(',')) {
    return bad("has no default port");
  }
  a.generation = gen;
  a.default_port = static_cast<uint16_t>(port);
  if (!p.Expect('[')) return bad("has no peer list");
  while (!p.Peek(']')) {
    if (!a.peers.empty() && !p.Expect(',')) return bad("is missing a ',' between peers");
    PeerEntry peer;
    if (!p.Expect('[')) return bad("has a peer without '['");
    peer.node_id = std::string(p.Token());
    if (peer.node_id.empty() || !p.Expect(',')) return bad("has a peer without a node id");
    peer.tls_name = std::string(p.Token());
    if (!p.Expect(',') || !p.Expect('[')) return bad("has a peer without endpoints");
    while (!p.Peek(']')) {
      if (!peer.endpoints.empty() && !p.Expect(',')) return bad("has malformed endpoints");
      std::string host;
      uint16_t ep_port = 0;
      if (!SplitEndpoint(p.Endpoint(), a.default_port, &host, &ep_port)) {
        return bad("has a malformed endpoint");
      }
      peer.endpoints.emplace_back(std::move(host), ep_port);
    }
    if (!p.Expect(']') || !p.Expect(']')) return bad("has an unterminated peer");
    a.peers.push_back(std::move(peer));
  }
  if (!p.Expect(']') || !p.AtEnd()) return bad("has trailing characters");
  return a;
}

}  // namespace absvc::wire
