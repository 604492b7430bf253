// Client configuration, command policies and the record model of src/client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/host.h"
#include "wire/digest.h"
#include "wire/particle.h"

namespace absvc::client {

// How the client logs in (the server's security must be enabled for any of them):
//   kInternal  user and a bcrypt credential of the password, checked by the server;
//   kExternal  the same plus the password in clear text, for the server to check against
//              LDAP: only over TLS, unless `allow_clear_password_without_tls`;
//   kPki       no user or password: the TLS client certificate names the user.
enum class AuthMode { kInternal, kExternal, kPki };

struct ClientOptions {
  std::vector<Host> seeds;
  std::string user;  // login when set (kInternal, kExternal)
  std::string password;
  AuthMode auth_mode = AuthMode::kInternal;
  bool allow_clear_password_without_tls = false;  // EXTERNAL_INSECURE
  TlsOptions tls;
  std::string cluster_name;  // checked against every node when set
  bool use_services_alternate = false;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds socket_timeout{30000};  // longest wait for any one read
  std::chrono::milliseconds tend_interval{1000};
  std::chrono::milliseconds idle_timeout{55000};
  size_t max_connections_per_node = 128;
  std::chrono::milliseconds acquire_timeout{5000};  // wait for a pooled connection
  // Reads (and scans) go to a replica on the first listed rack that holds the partition.
  std::vector<uint32_t> prefer_racks;
};

// A bin value: its particle type and wire bytes.
struct Value {
  uint8_t type = 0;
  std::string bytes;

  static Value Nil() { return {}; }
  static Value Int(int64_t v) {
    return {wire::ToByte(wire::ParticleType::kInteger), wire::EncodeInteger(v)};
  }
  static Value Float(double v) {
    return {wire::ToByte(wire::ParticleType::kFloat), wire::EncodeFloat(v)};
  }
  static Value Str(std::string v) {
    return {wire::ToByte(wire::ParticleType::kString), std::move(v)};
  }
  static Value Blob(std::string v) {
    return {wire::ToByte(wire::ParticleType::kBlob), std::move(v)};
  }
  static Value Bool(bool v) {
    return {wire::ToByte(wire::ParticleType::kBool), wire::EncodeBool(v)};
  }
  bool operator==(const Value&) const = default;
};

struct Bin {
  std::string name;
  Value value;
  bool operator==(const Bin&) const = default;
};

// A record key: namespace, set and digest, with the user key when known.
struct Key {
  std::string ns;
  std::string set;
  wire::Digest digest{};
  std::optional<Value> user_key;  // particle type + bytes

  static Key FromUserKey(std::string ns, std::string set, Value user_key);
  static Key FromDigest(std::string ns, std::string set, const wire::Digest& digest);
  uint32_t partition_id() const { return wire::PartitionIdOf(digest); }
  // KEY field data: type byte + bytes; empty without a user key.
  std::string KeyField() const;
};

struct Record {
  Key key;
  uint16_t generation = 0;
  uint32_t void_time = 0;  // citrusleaf seconds, 0 = never expires
  std::vector<Bin> bins;
};

enum class RecordExistsAction { kUpdate, kUpdateOnly, kReplace, kReplaceOnly, kCreateOnly };
enum class GenerationPolicy { kNone, kExpectEqual, kExpectGreater };

// TTL on the wire: seconds; 0 = namespace default; these two are special.
inline constexpr uint32_t kTtlNeverExpire = 0xFFFFFFFF;
inline constexpr uint32_t kTtlDontUpdate = 0xFFFFFFFE;

struct WritePolicy {
  RecordExistsAction exists = RecordExistsAction::kUpdate;
  GenerationPolicy generation_policy = GenerationPolicy::kNone;
  uint32_t generation = 0;
  uint32_t ttl = 0;
  bool send_key = false;
  bool durable_delete = false;
  std::string filter;  // packed expression, optional
  std::chrono::milliseconds total_timeout{10000};
  int max_retries = 2;
};

struct ReadPolicy {
  std::string filter;
  std::chrono::milliseconds total_timeout{10000};
  int max_retries = 2;
};

}  // namespace absvc::client
