#include <gtest/gtest.h>

#include "common/bytes.h"
#include "wire/admin.h"
#include "wire/batch.h"
#include "wire/particle.h"

namespace absvc::wire {
namespace {

TEST(Admin, EncodesLoginByteExact) {
  std::string msg = EncodeAdminMessage(AdminCommand::kLogin, 0,
                                       {{AdminField::kUser, "u"}, {AdminField::kCredential, "c"}});
  EXPECT_EQ(HexEncode(msg), std::string("020200000000001c") +        // proto: type 2, 28 bytes
                                "00001402" + std::string(24, '0') +  // result 0, LOGIN, 2 fields
                                "000000020075" + "000000020363");
  AdminMessage decoded;
  ASSERT_TRUE(DecodeAdminMessage(std::string_view(msg).substr(8), &decoded).ok());
  EXPECT_EQ(decoded.command, AdminCommand::kLogin);
  EXPECT_EQ(decoded.Field(AdminField::kUser), "u");
  EXPECT_EQ(decoded.Field(AdminField::kCredential), "c");
}

TEST(Admin, RejectsTruncatedFields) {
  std::string msg = EncodeAdminMessage(AdminCommand::kLogin, 0, {{AdminField::kUser, "user"}});
  AdminMessage decoded;
  std::string_view body = std::string_view(msg).substr(8);
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(DecodeAdminMessage(body.substr(0, n), &decoded).ok()) << n;
  }
}

TEST(Admin, CredentialIsBcryptWithTheClientsFixedSalt) {
  auto a = HashPasswordCredential("secret");
  auto b = HashPasswordCredential("secret");
  auto c = HashPasswordCredential("other");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size(), 60u);
  EXPECT_EQ(a->substr(0, 29), "$2a$10$7EqJtq98hPqEX7fNZaFWoO");
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(Batch, EncodesRepeatRowsAndDecodesThemBack) {
  std::string ops;
  AppendOp(ops, OpType::kWrite, 1, "a", EncodeInteger(1));
  std::vector<BatchRowSpec> rows(3);
  for (uint32_t i = 0; i < 3; ++i) {
    rows[i].index = i;
    rows[i].digest[0] = static_cast<uint8_t>(i);
    rows[i].header.info2 = info2::kWrite | info2::kRespondAllOps;
    rows[i].ns = "test";
    rows[i].set = "demo";
    rows[i].encoded_ops = ops;
    rows[i].n_ops = 1;
  }
  rows[2].key = std::string_view("\x03k", 2);  // a key prevents REPEAT
  std::string field;
  EncodeBatchIndex(0x0D, rows, field);
  BatchRequest decoded;
  ASSERT_TRUE(DecodeBatchIndex(field, &decoded).ok());
  EXPECT_EQ(decoded.parent_flags, 0x0D);
  ASSERT_EQ(decoded.rows.size(), 3u);
  EXPECT_FALSE(decoded.rows[0].repeat);
  EXPECT_TRUE(decoded.rows[1].repeat);
  EXPECT_FALSE(decoded.rows[2].repeat);
  EXPECT_EQ(decoded.rows[1].FieldData(FieldType::kSet), "demo");
  ASSERT_EQ(decoded.rows[1].ops.size(), 1u);
  EXPECT_EQ(decoded.rows[1].ops[0].name, "a");
  EXPECT_EQ(decoded.rows[1].digest[0], 1);
  EXPECT_EQ(decoded.rows[2].FieldData(FieldType::kKey), std::string_view("\x03k", 2));
  EXPECT_EQ(decoded.rows[2].header.info2, info2::kWrite | info2::kRespondAllOps);
}

TEST(Batch, RejectsLiesAboutCountsAndLeadingRepeat) {
  BatchRequest out;
  std::string huge("\xff\xff\xff\xff\x08", 5);
  EXPECT_FALSE(DecodeBatchIndex(huge, &out).ok());
  std::string leading_repeat("\x00\x00\x00\x01\x08", 5);
  leading_repeat += std::string(4, '\0') + std::string(20, 'd') + "\x01";
  EXPECT_FALSE(DecodeBatchIndex(leading_repeat, &out).ok());
}

}  // namespace
}  // namespace absvc::wire
