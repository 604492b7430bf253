// The info protocol (proto type 1): newline-separated ASCII commands; answers echo each
// command, a tab, and its value. Plus the value formats both sides must agree on:
// the partition bitmaps of `replicas` and the peer lists of `peers-*-std`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace absvc::wire {

inline constexpr size_t kPartitionBitmapBytes = 512;  // 4096 bits
inline constexpr size_t kPartitionBitmapBase64 = 684;

// A complete info request proto: every command followed by '\n'.
std::string BuildInfoRequest(const std::vector<std::string>& commands);

// The commands of a request body, split on '\n' (empty lines dropped).
std::vector<std::string_view> SplitInfoRequest(std::string_view body);

struct InfoPair {
  std::string name;
  std::string value;
};

// Splits a response body into name/value pairs. A line without a tab has an empty value.
std::vector<InfoPair> ParseInfoResponse(std::string_view body);

// Appends "name\tvalue\n".
void AppendInfoAnswer(std::string& body, std::string_view name, std::string_view value);

// `name[/arg0/arg1...][:k1=v1;k2=v2...]`.
struct InfoCommand {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> params;

  // The value of parameter `key`, if present.
  std::optional<std::string> Param(std::string_view key) const;
};
InfoCommand ParseInfoCommand(std::string_view text);

// An info value that reports an error: "ERROR:<code>:<message>" or "FAIL:...".
struct InfoError {
  int code = 1;
  std::string message;
};
std::optional<InfoError> ParseInfoError(std::string_view value);
std::string FormatInfoError(int code, std::string_view message);

// Splits "k=v;k=v" (or with another separator) into pairs.
std::vector<std::pair<std::string, std::string>> ParseKeyValues(std::string_view text,
                                                                char separator = ';');

// The non-empty items of a `sep`-separated list ("a;b;;c" -> a, b, c).
std::vector<std::string_view> SplitList(std::string_view text, char sep);

// Every item of a user-written list, spaces around it trimmed, empty items kept so the
// caller can name them ("a, b,,c" -> a, b, "", c; "" -> one empty item).
std::vector<std::string_view> SplitUserList(std::string_view text, char sep);

// A `rack-ids` answer, "<ns>:<rack>;...", as namespace -> rack id.
std::map<std::string, uint32_t, std::less<>> ParseRackIds(std::string_view value);

// 4096-bit partition bitmap, most significant bit first.
class PartitionBitmap {
 public:
  PartitionBitmap() : bytes_(kPartitionBitmapBytes, '\0') {}
  void Set(uint32_t pid) {
    bytes_[pid >> 3] = static_cast<char>(bytes_[pid >> 3] | (0x80 >> (pid & 7)));
  }
  bool Test(uint32_t pid) const {
    return (static_cast<uint8_t>(bytes_[pid >> 3]) & (0x80 >> (pid & 7))) != 0;
  }
  std::string ToBase64() const;
  static Result<PartitionBitmap> FromBase64(std::string_view b64);
  uint32_t Count() const;

 private:
  std::string bytes_;
};

// One namespace in a `replicas` answer: "<ns>:<regime>,<n>,<b64 col0>,<b64 col1>...".
struct NamespaceReplicas {
  std::string ns;
  uint32_t regime = 0;
  std::vector<PartitionBitmap> columns;  // columns[0] = master
};
std::string FormatReplicas(const std::vector<NamespaceReplicas>& namespaces);
Result<std::vector<NamespaceReplicas>> ParseReplicas(std::string_view value);

// One peer in a `peers-*` answer.
struct PeerEntry {
  std::string node_id;
  std::string tls_name;
  std::vector<std::pair<std::string, uint16_t>> endpoints;  // host, port
};
struct PeersAnswer {
  uint64_t generation = 0;
  uint16_t default_port = 3000;
  std::vector<PeerEntry> peers;
};
std::string FormatPeers(const PeersAnswer& answer);
Result<PeersAnswer> ParsePeers(std::string_view value);

}  // namespace absvc::wire
