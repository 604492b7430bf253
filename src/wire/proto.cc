#include "wire/proto.h"

#include <zlib.h>

#include "common/bytes.h"

namespace absvc::wire {

void EncodeProtoHeader(ProtoType type, uint64_t body_size, char out[kProtoHeaderSize]) {
  uint64_t v = (uint64_t{kProtoVersion} << 56) | (uint64_t{static_cast<uint8_t>(type)} << 48) |
               (body_size & 0xFFFFFFFFFFFFull);
  StoreU64BE(out, v);
}

Result<ProtoHeader> DecodeProtoHeader(std::string_view bytes) {
  if (bytes.size() < kProtoHeaderSize) {
    return Status::Corrupt("proto header needs 8 bytes, got " + std::to_string(bytes.size()));
  }
  uint64_t v = LoadU64BE(bytes.data());
  ProtoHeader h;
  h.version = static_cast<uint8_t>(v >> 56);
  uint8_t type = static_cast<uint8_t>(v >> 48);
  h.body_size = v & 0xFFFFFFFFFFFFull;
  if (type < 1 || type > 5) {
    return Status::Corrupt("proto type " + std::to_string(type) + " is not 1..5");
  }
  h.type = static_cast<ProtoType>(type);
  if (h.version != kProtoVersion && !(h.version == 0 && h.type == ProtoType::kAdmin)) {
    return Status::Corrupt("proto version " + std::to_string(h.version) + " is not 2");
  }
  if (h.body_size > kMaxProtoBodySize) {
    return Status::Corrupt("proto body of " + std::to_string(h.body_size) +
                           " bytes exceeds the 128 MiB limit");
  }
  return h;
}

size_t BeginProto(std::string& out) {
  size_t offset = out.size();
  out.append(kProtoHeaderSize, '\0');
  return offset;
}

void EndProto(std::string& out, size_t offset, ProtoType type) {
  EncodeProtoHeader(type, out.size() - offset - kProtoHeaderSize, out.data() + offset);
}

std::string CompressMessage(std::string_view full_message, int level) {
  uLongf bound = compressBound(full_message.size());
  std::string out(kProtoHeaderSize + 8 + bound, '\0');
  StoreU64BE(out.data() + kProtoHeaderSize, full_message.size());
  auto dst = reinterpret_cast<Bytef*>(out.data() + kProtoHeaderSize + 8);
  compress2(dst, &bound, reinterpret_cast<const Bytef*>(full_message.data()), full_message.size(),
            level);
  out.resize(kProtoHeaderSize + 8 + bound);
  EncodeProtoHeader(ProtoType::kCompressed, out.size() - kProtoHeaderSize, out.data());
  return out;
}

Result<std::string> DecompressMessageBody(std::string_view body) {
  if (body.size() < 8) return Status::Corrupt("compressed proto body shorter than 8 bytes");
  uint64_t original = LoadU64BE(body.data());
  if (original < kProtoHeaderSize || original > kMaxProtoBodySize + kProtoHeaderSize) {
    return Status::Corrupt("compressed proto declares an original size of " +
                           std::to_string(original) + " bytes");
  }
  std::string out(original, '\0');
  uLongf out_len = original;
  int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &out_len,
                      reinterpret_cast<const Bytef*>(body.data() + 8), body.size() - 8);
  if (rc != Z_OK)
    return Status::Corrupt("compressed proto does not inflate (zlib " + std::to_string(rc) + ")");
  if (out_len != original) {
    return Status::Corrupt("compressed proto inflated to " + std::to_string(out_len) +
                           " bytes, declared " + std::to_string(original));
  }
  ABS_ASSIGN_OR_RETURN(ProtoHeader inner, DecodeProtoHeader(out));
  if (inner.type != ProtoType::kMessage) {
    return Status::Corrupt("compressed proto holds type " +
                           std::to_string(static_cast<int>(inner.type)) + ", expected 3");
  }
  if (inner.body_size + kProtoHeaderSize != original) {
    return Status::Corrupt("compressed proto inner size does not match its declared size");
  }
  return out;
}

}  // namespace absvc::wire
