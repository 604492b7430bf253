#include <gtest/gtest.h>

#include "common/bytes.h"
#include "wire/message.h"
#include "wire/particle.h"
#include "wire/proto.h"

namespace absvc::wire {
namespace {

TEST(ProtoHeader, EncodesVersionTypeAndSize) {
  char h[8];
  EncodeProtoHeader(ProtoType::kMessage, 22, h);
  EXPECT_EQ(HexEncode(std::string_view(h, 8)), "0203000000000016");
  EncodeProtoHeader(ProtoType::kInfo, 0x010203040506, h);
  EXPECT_EQ(HexEncode(std::string_view(h, 8)), "0201010203040506");
}

TEST(ProtoHeader, RejectsBadVersionTypeAndSize) {
  EXPECT_FALSE(DecodeProtoHeader(std::string_view("\x03\x03\0\0\0\0\0\0", 8)).ok());
  EXPECT_FALSE(DecodeProtoHeader(std::string_view("\x02\x00\0\0\0\0\0\0", 8)).ok());
  EXPECT_FALSE(DecodeProtoHeader(std::string_view("\x02\x06\0\0\0\0\0\0", 8)).ok());
  EXPECT_FALSE(DecodeProtoHeader(std::string_view("\x02\x03\0\0\x08\0\0\x01", 8)).ok());
  EXPECT_FALSE(DecodeProtoHeader(std::string_view("\x02\x03", 2)).ok());
  auto old_admin = DecodeProtoHeader(std::string_view("\x00\x02\0\0\0\0\0\x10", 8));
  ASSERT_TRUE(old_admin.ok());
  EXPECT_EQ(old_admin->body_size, 16u);
}

TEST(CompressedProto, RoundTripsAMessage) {
  std::string msg;
  size_t off = BeginProto(msg);
  MsgHeader h;
  h.info1 = info1::kRead;
  MessageBuilder b(msg, h);
  b.Field(FieldType::kNamespace, std::string(500, 'n'));
  b.Finish();
  EndProto(msg, off, ProtoType::kMessage);
  std::string compressed = CompressMessage(msg);
  auto header = DecodeProtoHeader(compressed);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->type, ProtoType::kCompressed);
  EXPECT_LT(compressed.size(), msg.size());
  auto inflated = DecompressMessageBody(std::string_view(compressed).substr(8));
  ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
  EXPECT_EQ(*inflated, msg);
}

TEST(CompressedProto, RejectsGarbageAndSizeLies) {
  EXPECT_FALSE(DecompressMessageBody("short").ok());
  std::string body(8, '\0');
  StoreU64BE(body.data(), 100);
  body += "not zlib";
  EXPECT_FALSE(DecompressMessageBody(body).ok());
}

TEST(Message, BuildsByteExactHeaderFieldsAndOps) {
  std::string out;
  MsgHeader h;
  h.info1 = info1::kRead | info1::kGetAll;
  h.info3 = info3::kLast;
  h.generation = 7;
  h.record_ttl = 0x01020304;
  MessageBuilder b(out, h);
  b.Field(FieldType::kNamespace, "test");
  b.Op(OpType::kWrite, ToByte(ParticleType::kInteger), "a", EncodeInteger(-1));
  b.Finish();
  EXPECT_EQ(HexEncode(out),
            "16"  // header size 22
            "03000100"
            "00"        // info1..4, result
            "00000007"  // generation
            "01020304"  // record ttl
            "00000000"  // transaction ttl
            "0001"
            "0001"  // n_fields, n_ops
            "0000000500"
            "74657374"  // field: size 5, type 0, "test"
            "0000000d"
            "02"
            "01"
            "00"
            "01"
            "61"
            "ffffffffffffffff");
  MessageView v;
  size_t consumed = 0;
  ASSERT_TRUE(DecodeMessage(out, &v, &consumed).ok());
  EXPECT_EQ(consumed, out.size());
  EXPECT_EQ(v.header.generation, 7u);
  EXPECT_EQ(v.FieldData(FieldType::kNamespace), "test");
  ASSERT_EQ(v.ops.size(), 1u);
  EXPECT_EQ(v.ops[0].name, "a");
  EXPECT_EQ(DecodeInteger(v.ops[0].value), -1);
}

TEST(Message, DecodesMessagesPackedBackToBack) {
  std::string out;
  for (int i = 0; i < 3; ++i) {
    MsgHeader h;
    h.generation = static_cast<uint32_t>(i);
    MessageBuilder b(out, h);
    b.Field(FieldType::kDigest, std::string(20, static_cast<char>(i)));
    b.Finish();
  }
  MessageView v;
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    size_t consumed = 0;
    ASSERT_TRUE(DecodeMessage(std::string_view(out).substr(pos), &v, &consumed).ok());
    EXPECT_EQ(v.header.generation, static_cast<uint32_t>(i));
    pos += consumed;
  }
  EXPECT_EQ(pos, out.size());
}

TEST(Message, RejectsTruncatedAndLyingSizes) {
  std::string out;
  MsgHeader h;
  MessageBuilder b(out, h);
  b.Field(FieldType::kNamespace, "test");
  b.Op(OpType::kRead, 0, "bin", "");
  b.Finish();
  MessageView v;
  size_t consumed;
  for (size_t n = 0; n < out.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(std::string_view(out).substr(0, n), &v, &consumed).ok()) << n;
  }
  std::string lying = out;
  lying[22 + 3] = 100;  // field size beyond the message
  EXPECT_FALSE(DecodeMessage(lying, &v, &consumed).ok());
  std::string bad_header = out;
  bad_header[0] = 21;
  EXPECT_FALSE(DecodeMessage(bad_header, &v, &consumed).ok());
}

TEST(Particle, ValidatesFixedSizesAndCdts) {
  EXPECT_TRUE(ValidateParticle(1, EncodeInteger(5)).ok());
  EXPECT_FALSE(ValidateParticle(1, "1234").ok());
  EXPECT_FALSE(ValidateParticle(2, "").ok());
  EXPECT_TRUE(ValidateParticle(17, EncodeBool(true)).ok());
  EXPECT_FALSE(ValidateParticle(17, "ab").ok());
  EXPECT_TRUE(ValidateParticle(20, std::string("\x92\x01\x02", 3)).ok());
  EXPECT_FALSE(ValidateParticle(20, std::string("\x92\x01", 2)).ok());
  EXPECT_FALSE(ValidateParticle(99, "x").ok());
  EXPECT_TRUE(ValidateParticle(23, EncodeGeoJson("{}")).ok());
  EXPECT_EQ(GeoJsonText(EncodeGeoJson("{\"a\":1}")), "{\"a\":1}");
  EXPECT_DOUBLE_EQ(DecodeFloat(EncodeFloat(2.5)), 2.5);
  EXPECT_EQ(HexEncode(EncodeFloat(1.0)), "3ff0000000000000");
}

}  // namespace
}  // namespace absvc::wire
