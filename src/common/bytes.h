// Byte-order helpers and a bounds-checked reader. Buffers are std::string (owned) and
// std::string_view (borrowed); every read past the end is reported, never performed.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace absvc {

inline uint16_t LoadU16BE(const void* p) {
  auto b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t LoadU32BE(const void* p) {
  auto b = static_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
inline uint64_t LoadU64BE(const void* p) {
  auto b = static_cast<const uint8_t*>(p);
  return (uint64_t{LoadU32BE(b)} << 32) | LoadU32BE(b + 4);
}
inline uint16_t LoadU16LE(const void* p) {
  auto b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
inline uint64_t LoadU64LE(const void* p) {
  auto b = static_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | b[i];
  return v;
}
inline void StoreU16BE(void* p, uint16_t v) {
  auto b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v >> 8);
  b[1] = static_cast<uint8_t>(v);
}
inline void StoreU32BE(void* p, uint32_t v) {
  auto b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v >> 24);
  b[1] = static_cast<uint8_t>(v >> 16);
  b[2] = static_cast<uint8_t>(v >> 8);
  b[3] = static_cast<uint8_t>(v);
}
inline void StoreU64BE(void* p, uint64_t v) {
  auto b = static_cast<uint8_t*>(p);
  StoreU32BE(b, static_cast<uint32_t>(v >> 32));
  StoreU32BE(b + 4, static_cast<uint32_t>(v));
}
inline void StoreU16LE(void* p, uint16_t v) {
  auto b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v);
  b[1] = static_cast<uint8_t>(v >> 8);
}
inline void StoreU64LE(void* p, uint64_t v) {
  auto b = static_cast<uint8_t*>(p);
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline void AppendU8(std::string& out, uint8_t v) {
  out.push_back(static_cast<char>(v));
}
inline void AppendU16BE(std::string& out, uint16_t v) {
  char b[2];
  StoreU16BE(b, v);
  out.append(b, 2);
}
inline void AppendU32BE(std::string& out, uint32_t v) {
  char b[4];
  StoreU32BE(b, v);
  out.append(b, 4);
}
inline void AppendU64BE(std::string& out, uint64_t v) {
  char b[8];
  StoreU64BE(b, v);
  out.append(b, 8);
}
inline void AppendU16LE(std::string& out, uint16_t v) {
  char b[2];
  StoreU16LE(b, v);
  out.append(b, 2);
}
inline void AppendU64LE(std::string& out, uint64_t v) {
  char b[8];
  StoreU64LE(b, v);
  out.append(b, 8);
}

// Reads fixed-size values from a borrowed buffer. After any failed read ok() is false and
// every later read returns zero/empty, so a decoder can check once at the end of a block.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  std::string_view rest() const { return data_.substr(pos_); }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint16_t U16BE() { return Fixed<uint16_t, 2>(LoadU16BE); }
  uint32_t U32BE() { return Fixed<uint32_t, 4>(LoadU32BE); }
  uint64_t U64BE() { return Fixed<uint64_t, 8>(LoadU64BE); }
  uint16_t U16LE() { return Fixed<uint16_t, 2>(LoadU16LE); }
  uint64_t U64LE() { return Fixed<uint64_t, 8>(LoadU64LE); }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    auto v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  void Skip(size_t n) { Bytes(n); }

 private:
  bool Need(size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  template <typename T, size_t N, typename F>
  T Fixed(F load) {
    if (!Need(N)) return 0;
    T v = load(data_.data() + pos_);
    pos_ += N;
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Hex of bytes, lower case ("0a1b...").
std::string HexEncode(std::string_view bytes);
// Upper-case hex without leading zeros, as the server prints node ids and cluster keys.
std::string HexU64Upper(uint64_t v);

}  // namespace absvc
