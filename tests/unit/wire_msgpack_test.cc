#include <gtest/gtest.h>

#include <cmath>

#include "common/bytes.h"
#include "wire/msgpack.h"

namespace absvc::wire {
namespace {

std::string PackInt(int64_t v) {
  std::string out;
  MsgpackWriter(out).Int(v);
  return HexEncode(out);
}

TEST(Msgpack, IntegersUseTheSmallestForm) {
  EXPECT_EQ(PackInt(0), "00");
  EXPECT_EQ(PackInt(127), "7f");
  EXPECT_EQ(PackInt(128), "cc80");
  EXPECT_EQ(PackInt(256), "cd0100");
  EXPECT_EQ(PackInt(65536), "ce00010000");
  EXPECT_EQ(PackInt(1ll << 32), "cf0000000100000000");
  EXPECT_EQ(PackInt(-1), "ff");
  EXPECT_EQ(PackInt(-32), "e0");
  EXPECT_EQ(PackInt(-33), "d0df");
  EXPECT_EQ(PackInt(-129), "d1ff7f");
  EXPECT_EQ(PackInt(-40000), "d2ffff63c0");
  EXPECT_EQ(PackInt(INT64_MIN), "d38000000000000000");
}

TEST(Msgpack, StringsCarryTheParticleTypeByte) {
  std::string out;
  MsgpackWriter w(out);
  w.ParticleString(3, "ab");
  w.Str("ab");
  w.Bin("ab");
  EXPECT_EQ(HexEncode(out),
            "a3036162"
            "a26162"
            "c4026162");
  std::string long_str;
  MsgpackWriter(long_str).ParticleString(3, std::string(40, 'x'));
  EXPECT_EQ(HexEncode(long_str.substr(0, 3)), "d92903");
}

TEST(Msgpack, ContainersAndExtHeaders) {
  std::string out;
  MsgpackWriter w(out);
  w.ArrayHeader(2);
  w.MapHeader(1);
  w.ArrayHeader(16);
  w.ExtHeader(0, 3);  // ordered-map marker
  w.Nil();
  w.Bool(true);
  w.Double(1.5);
  EXPECT_EQ(HexEncode(out),
            "92"
            "81"
            "dc0010"
            "c70003"
            "c0"
            "c3"
            "cb3ff8000000000000");
}

TEST(Msgpack, ReaderReturnsEachKind) {
  std::string out;
  MsgpackWriter w(out);
  w.Int(-5);
  w.Uint(UINT64_MAX);
  w.Double(-0.25);
  w.Str("hi");
  w.ArrayHeader(3);
  w.ExtHeader(2, 7);
  out += "xy";
  MsgpackReader r(out);
  MsgpackItem it;
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.kind, MsgpackKind::kInt);
  EXPECT_EQ(it.i, -5);
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.kind, MsgpackKind::kUint);
  EXPECT_EQ(it.u, UINT64_MAX);
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.d, -0.25);
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.bytes, "hi");
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.kind, MsgpackKind::kArray);
  EXPECT_EQ(it.count, 3u);
  ASSERT_TRUE(r.Next(&it).ok());
  EXPECT_EQ(it.kind, MsgpackKind::kExt);
  EXPECT_EQ(it.ext_type, 7);
  EXPECT_EQ(it.bytes, "xy");
  EXPECT_TRUE(r.AtEnd());
}

TEST(Msgpack, ValidateAcceptsNestedValues) {
  std::string out;
  MsgpackWriter w(out);
  w.MapHeader(2);
  w.ParticleString(3, "k");
  w.ArrayHeader(2);
  w.Int(1);
  w.MapHeader(0);
  w.Int(7);
  w.Nil();
  EXPECT_TRUE(ValidateMsgpack(out).ok());
}

TEST(Msgpack, ValidateRejectsTruncationTrailingBytesAndDepthBombs) {
  EXPECT_FALSE(ValidateMsgpack(std::string("\x92\x01", 2)).ok());
  EXPECT_FALSE(ValidateMsgpack(std::string("\x01\x02", 2)).ok());
  EXPECT_FALSE(ValidateMsgpack(std::string("\xc1", 1)).ok());  // never-used byte
  EXPECT_FALSE(ValidateMsgpack(std::string("\xdd\xff\xff\xff\xff", 5)).ok());
  std::string deep(1000, '\x91');
  deep.push_back('\x00');
  EXPECT_FALSE(ValidateMsgpack(deep).ok());
  std::string ok_depth(60, '\x91');
  ok_depth.push_back('\x00');
  EXPECT_TRUE(ValidateMsgpack(ok_depth).ok());
}

}  // namespace
}  // namespace absvc::wire
