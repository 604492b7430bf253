// Record digests and partition ids.
//   digest = RIPEMD-160(set || key particle type byte || key bytes); namespace excluded
//   partition id = little-endian u16 of digest bytes 0..1, masked to 12 bits
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace absvc::wire {

inline constexpr size_t kDigestSize = 20;
inline constexpr uint32_t kPartitionCount = 4096;

using Digest = std::array<uint8_t, kDigestSize>;

Digest ComputeDigest(std::string_view set, uint8_t key_particle_type, std::string_view key_bytes);

inline uint32_t PartitionIdOf(const uint8_t* digest) {
  return (uint32_t{digest[0]} | (uint32_t{digest[1]} << 8)) & (kPartitionCount - 1);
}
inline uint32_t PartitionIdOf(const Digest& d) {
  return PartitionIdOf(d.data());
}

inline std::string_view DigestBytes(const Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}
// Copies 20 bytes; `bytes` must hold at least 20.
Digest DigestFromBytes(std::string_view bytes);

}  // namespace absvc::wire
