// The Aerospike Secret Agent protocol, client side: a secret named by a reference
// "secrets:<resource>:<key>" is asked for over TCP (optionally TLS) or a Unix socket. Both
// directions are an 8-byte header (magic 0x51dec1cc and the body length, big-endian) and a
// JSON body: {"Resource": ..., "SecretKey": ...} out, {"SecretValue": ...} or
// {"Error": ...} back. One connection per secret, as the agent expects.
//
// Errors name the agent, the resource and the key, never the secret: an answer that does
// not parse is described, not quoted.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc::client {

struct SecretAgentOptions {
  std::string connection_type = "tcp";  // tcp | unix
  std::string address;                  // host name or IP; for unix, the socket's path
  int port = 0;
  std::chrono::milliseconds timeout{1000};  // the whole exchange, connecting included
  // TLS (tcp only) when tls_ca_file is set: the agent's certificate must name tls_name, or
  // `address` when that is empty. A client certificate and key (both or neither) make it
  // mutual TLS.
  std::string tls_ca_file;
  std::string tls_cert_file, tls_key_file;
  std::string tls_name;
  bool is_base64 = false;  // the agent answers base64 of the secret
  bool operator==(const SecretAgentOptions&) const = default;
};

struct SecretRef {
  std::string resource, key;
};

inline constexpr uint32_t kSecretAgentMagic = 0x51dec1cc;
inline constexpr size_t kSecretAgentHeaderSize = 8;
// An answer longer than this is refused before it is read: no secret is that large.
inline constexpr size_t kMaxSecretAgentAnswer = 100 << 10;

// True for a value that names a secret held by a Secret Agent.
bool IsSecretRef(std::string_view value);
// "secrets:<resource>:<key>": exactly three parts, none empty.
Result<SecretRef> ParseSecretRef(std::string_view value);

std::string EncodeSecretRequest(const SecretRef& ref);
// The body length an answer's header announces.
Result<size_t> DecodeSecretAnswerHeader(std::string_view header);
// The secret in an answer's body, base64-decoded when `is_base64`.
Result<std::string> DecodeSecretAnswer(std::string_view body, bool is_base64);

// Describes the agent for messages: "tcp 127.0.0.1:3005" or "unix /run/agent.sock".
std::string DescribeSecretAgent(const SecretAgentOptions& agent);

// Asks `agent` for the secret `ref` names, within agent.timeout.
Result<std::string> FetchSecret(const SecretAgentOptions& agent, const SecretRef& ref);

}  // namespace absvc::client
