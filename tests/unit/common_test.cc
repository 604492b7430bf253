#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "common/status.h"

namespace absvc {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodeRoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37));
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zg=").has_value());       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("Z!==").has_value());      // bad character
  EXPECT_FALSE(Base64Decode("Zh==").has_value());      // non-zero padding bits
  EXPECT_FALSE(Base64Decode("Zg==Zg==").has_value());  // padding in the middle
}

TEST(ByteReader, ReportsReadsPastTheEnd) {
  ByteReader r(std::string_view("\x01\x02\x03", 3));
  EXPECT_EQ(r.U16BE(), 0x0102);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U32BE(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U8(), 0);  // stays failed
}

TEST(Bytes, LittleAndBigEndianStores) {
  char b[8];
  StoreU64BE(b, 0x0102030405060708ull);
  EXPECT_EQ(HexEncode(std::string_view(b, 8)), "0102030405060708");
  StoreU64LE(b, 0x0102030405060708ull);
  EXPECT_EQ(HexEncode(std::string_view(b, 8)), "0807060504030201");
  EXPECT_EQ(LoadU64LE(b), 0x0102030405060708ull);
  EXPECT_EQ(HexU64Upper(0xBB9020011AC4202ull), "BB9020011AC4202");
}

TEST(Status, CarriesCodeAndContext) {
  Status s = Status::Server(22, "forbidden").WithContext("put test/demo");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.server_code(), 22);
  EXPECT_EQ(s.ToString(), "server error 22: put test/demo: forbidden");
  Result<int> r = Status::NotFound("x");
  EXPECT_FALSE(r.ok());
  Result<int> v = 5;
  EXPECT_EQ(*v, 5);
}

TEST(CitrusleafTime, ConvertsBetweenEpochs) {
  EXPECT_EQ(VoidTimeToUnixNanos(0), 1262304000ll * 1000000000);
  EXPECT_EQ(CitrusleafMillisToUnixNanos(1000), (1262304000ll * 1000 + 1000) * 1000000);
}

}  // namespace
}  // namespace absvc
