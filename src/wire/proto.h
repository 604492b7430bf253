// The 8-byte proto header that frames every Aerospike message, and compressed (type 4)
// messages. Contract: decoders never read past the view they are given and report
// malformed input as kCorrupt with what was wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc::wire {

inline constexpr uint8_t kProtoVersion = 2;
inline constexpr size_t kProtoHeaderSize = 8;
inline constexpr uint64_t kMaxProtoBodySize = 128ull * 1024 * 1024;

enum class ProtoType : uint8_t {
  kInfo = 1,
  kAdmin = 2,
  kMessage = 3,
  kCompressed = 4,
  kXdr = 5,
};

struct ProtoHeader {
  uint8_t version = kProtoVersion;
  ProtoType type = ProtoType::kMessage;
  uint64_t body_size = 0;
};

void EncodeProtoHeader(ProtoType type, uint64_t body_size, char out[kProtoHeaderSize]);

// Validates version (2, or 0 for admin from old clients), type 1..5, and the 128 MiB cap.
Result<ProtoHeader> DecodeProtoHeader(std::string_view bytes);

// Reserves a proto header at the end of `out`; returns its offset for EndProto.
size_t BeginProto(std::string& out);
// Patches the header reserved at `offset` with the size of everything appended since.
void EndProto(std::string& out, size_t offset, ProtoType type);

// Wraps a complete type-3 message (proto header included) into a type-4 proto:
// [proto header type 4][u64 BE original size][zlib stream].
std::string CompressMessage(std::string_view full_message, int level = 1);

// Inflates the body of a type-4 proto and returns the inner complete type-3 message
// (header included) after checking its version, type and declared size.
Result<std::string> DecompressMessageBody(std::string_view compressed_body);

}  // namespace absvc::wire
