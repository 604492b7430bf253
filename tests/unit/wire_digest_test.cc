#include <gtest/gtest.h>

#include "common/bytes.h"
#include "wire/digest.h"
#include "wire/particle.h"

namespace absvc::wire {
namespace {

std::string Hex(const Digest& d) {
  return HexEncode(DigestBytes(d));
}

// Vectors from the Aerospike clients' key tests (set "set").
TEST(Digest, MatchesPublishedVectors) {
  EXPECT_EQ(Hex(ComputeDigest("set", 1, EncodeInteger(0))),
            "93d943aae37b017ad7e011b0c1d2e2143c2fb37d");
  EXPECT_EQ(Hex(ComputeDigest("set", 1, EncodeInteger(-1))),
            "22116d253745e29fc63fdf760b6e26f7e197e01d");
  EXPECT_EQ(Hex(ComputeDigest("set", 3, "")), "2819b1ff6e346a43b4f5f6b77a88bc3eaac22a83");
  EXPECT_EQ(Hex(ComputeDigest("set", 3, "s")), "607cddba7cd111745ef0a3d783d57f0e83c8f311");
  EXPECT_EQ(Hex(ComputeDigest("set", 4, "")), "327e2877b8815c7aeede0d5a8620d4ef8df4a4b4");
}

TEST(Digest, PartitionIdIsLittleEndianLow12Bits) {
  Digest d = ComputeDigest("set", 1, EncodeInteger(0));
  EXPECT_EQ(PartitionIdOf(d), 0xd993u & 0xfff);
  EXPECT_EQ(PartitionIdOf(d), 2451u);
  Digest e{};
  e[0] = 0xff;
  e[1] = 0xff;
  EXPECT_EQ(PartitionIdOf(e), 4095u);
}

}  // namespace
}  // namespace absvc::wire
