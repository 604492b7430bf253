#include "common/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace absvc {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t)
    v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = MakeDecodeTable();

}  // namespace

size_t Base64EncodedSize(size_t n) {
  return (n + 2) / 3 * 4;
}

// Two output characters for every 12-bit value: one table lookup per 12 input bits.
struct PairTable {
  std::array<std::array<char, 2>, 4096> pairs{};
  constexpr PairTable() {
    for (int i = 0; i < 4096; ++i)
      pairs[static_cast<size_t>(i)] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  }
};
constexpr PairTable kPairs;

#if defined(__x86_64__)
// 12 input bytes to 16 characters per step with SSSE3 (Muła's method): spread the
// 6-bit groups into bytes with a shuffle and two multiplies, then turn each group into
// its character by adding an offset chosen by its range. Returns the bytes consumed; it
// stops while 16 bytes can still be loaded, leaving the tail to the scalar loop.
__attribute__((target("ssse3"))) size_t EncodeSsse3(const uint8_t* in, size_t n, char* out) {
  const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  const __m128i offsets =
      _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                    '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  size_t i = 0;
  for (; i + 16 <= n; i += 12, out += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    v = _mm_shuffle_epi8(v, spread);
    const __m128i hi =
        _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
    const __m128i lo =
        _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
    const __m128i groups = _mm_or_si128(hi, lo);  // one 6-bit value per byte
    // Range index: 0..25 -> 13, 26..51 -> 0, 52..61 -> 1..10, 62 -> 11, 63 -> 12.
    __m128i range = _mm_subs_epu8(groups, _mm_set1_epi8(51));
    const __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), groups);
    range = _mm_or_si128(range, _mm_and_si128(upper, _mm_set1_epi8(13)));
    const __m128i chars = _mm_add_epi8(_mm_shuffle_epi8(offsets, range), groups);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), chars);
  }
  return i;
}

bool HaveSsse3() {
  static const bool have = __builtin_cpu_supports("ssse3");
  return have;
}
#endif

void Base64EncodeAppend(std::string_view bytes, std::string& out) {
  size_t start = out.size();
  out.resize(start + Base64EncodedSize(bytes.size()));
  char* o = out.data() + start;
  auto in = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size(), i = 0;
#if defined(__x86_64__)
  if (n >= 16 && HaveSsse3()) {
    i = EncodeSsse3(in, n, o);
    o += i / 3 * 4;
  }
#endif
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    std::memcpy(o, kPairs.pairs[v >> 12].data(), 2);
    std::memcpy(o + 2, kPairs.pairs[v & 4095].data(), 2);
    o += 4;
  }
  if (i < n) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (i + 1 < n) v |= uint32_t{in[i + 1]} << 8;
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  Base64EncodeAppend(bytes, out);
  return out;
}

bool Base64DecodeAppend(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  size_t n = text.size();
  size_t pad = 0;
  if (n >= 1 && text[n - 1] == '=') ++pad;
  if (n >= 2 && text[n - 2] == '=') ++pad;
  size_t start = out.size();
  out.resize(start + n / 4 * 3 - pad);
  char* o = out.data() + start;
  for (size_t i = 0; i < n; i += 4) {
    bool last = i + 4 == n;
    int8_t a = kDecode[static_cast<uint8_t>(text[i])];
    int8_t b = kDecode[static_cast<uint8_t>(text[i + 1])];
    int8_t c = kDecode[static_cast<uint8_t>(text[i + 2])];
    int8_t d = kDecode[static_cast<uint8_t>(text[i + 3])];
    if (a < 0 || b < 0) return out.resize(start), false;
    if (last && pad > 0) {
      if (pad == 2) {
        if (text[i + 2] != '=' || (b & 15) != 0) return out.resize(start), false;
        *o++ = static_cast<char>((a << 2) | (b >> 4));
      } else {
        if (c < 0 || (c & 3) != 0) return out.resize(start), false;
        *o++ = static_cast<char>((a << 2) | (b >> 4));
        *o++ = static_cast<char>(((b & 15) << 4) | (c >> 2));
      }
      break;
    }
    if (c < 0 || d < 0) return out.resize(start), false;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>(v >> 8);
    *o++ = static_cast<char>(v);
  }
  return true;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  if (!Base64DecodeAppend(text, out)) return std::nullopt;
  return out;
}

}  // namespace absvc
