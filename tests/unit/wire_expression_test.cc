#include <gtest/gtest.h>

#include "common/bytes.h"
#include "wire/digest.h"
#include "wire/expression.h"
#include "wire/particle.h"

namespace absvc::wire {
namespace {

TEST(ExpBuilder, PacksModifiedAfterAsAsbackupDoes) {
  // GE(last_update, T) = [4, [66], T]
  std::string e = exp::Ge(exp::LastUpdate(), exp::Int(1000));
  EXPECT_EQ(HexEncode(e),
            "93"
            "04"
            "9142"
            "cd03e8");
  EXPECT_EQ(HexEncode(exp::DigestModulo(3)), "924003");
  EXPECT_EQ(HexEncode(exp::Eq(exp::Ttl(), exp::Int(-1))), "93019145ff");
  EXPECT_EQ(HexEncode(exp::Eq(exp::SetName(), exp::Str("ab"))), "93019146a3036162");
  EXPECT_EQ(HexEncode(exp::Bin(ExpType::kInt, "a")), "935102a161");
}

struct FakeRecord {
  std::string bins;
};

bool FindIntBin(const void* ctx, std::string_view name, uint8_t* type, std::string_view* value) {
  auto* r = static_cast<const FakeRecord*>(ctx);
  if (name != "age") return false;
  *type = 1;
  *value = r->bins;
  return true;
}

ExpRecord MakeRecord(int64_t lut_ns, const Digest& d) {
  ExpRecord r;
  r.last_update_unix_ns = lut_ns;
  r.void_time_unix_ns = -1;
  r.ttl_seconds = -1;
  r.set_name = "demo";
  r.digest = d.data();
  return r;
}

TEST(Expression, EvaluatesLastUpdateWindows) {
  Digest d{};
  auto e = Expression::Parse(exp::And(
      {exp::Ge(exp::LastUpdate(), exp::Int(100)), exp::Lt(exp::LastUpdate(), exp::Int(200))}));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(e->Matches(MakeRecord(99, d)));
  EXPECT_TRUE(e->Matches(MakeRecord(100, d)));
  EXPECT_TRUE(e->Matches(MakeRecord(199, d)));
  EXPECT_FALSE(e->Matches(MakeRecord(200, d)));
}

TEST(Expression, EvaluatesSetNameOrAndNot) {
  Digest d{};
  auto in_demo = Expression::Parse(exp::Eq(exp::SetName(), exp::Str("demo")));
  auto not_demo = Expression::Parse(exp::Not(exp::Eq(exp::SetName(), exp::Str("demo"))));
  auto either = Expression::Parse(
      exp::Or({exp::Eq(exp::SetName(), exp::Str("x")), exp::Eq(exp::Ttl(), exp::Int(-1))}));
  ASSERT_TRUE(in_demo.ok() && not_demo.ok() && either.ok());
  EXPECT_TRUE(in_demo->Matches(MakeRecord(0, d)));
  EXPECT_FALSE(not_demo->Matches(MakeRecord(0, d)));
  EXPECT_TRUE(either->Matches(MakeRecord(0, d)));
}

TEST(Expression, DigestModuloReadsBytes16To19LittleEndian) {
  Digest d{};
  d[16] = 7;  // value 7
  auto mod3 = Expression::Parse(exp::Eq(exp::DigestModulo(3), exp::Int(1)));
  ASSERT_TRUE(mod3.ok());
  EXPECT_TRUE(mod3->Matches(MakeRecord(0, d)));
  d[17] = 1;  // 7 + 256 = 263 = 87*3 + 2
  EXPECT_FALSE(mod3->Matches(MakeRecord(0, d)));
}

TEST(Expression, MissingBinsAndMismatchedTypesFilterOut) {
  Digest d{};
  FakeRecord fake{EncodeInteger(42)};
  ExpRecord r = MakeRecord(0, d);
  r.find_bin = FindIntBin;
  r.bin_context = &fake;
  auto age = Expression::Parse(exp::Gt(exp::Bin(ExpType::kInt, "age"), exp::Int(40)));
  auto missing = Expression::Parse(exp::Gt(exp::Bin(ExpType::kInt, "zzz"), exp::Int(40)));
  auto mismatch = Expression::Parse(exp::Eq(exp::LastUpdate(), exp::Str("x")));
  ASSERT_TRUE(age.ok() && missing.ok() && mismatch.ok());
  EXPECT_TRUE(age->Matches(r));
  EXPECT_FALSE(missing->Matches(r));
  EXPECT_FALSE(mismatch->Matches(r));
}

TEST(Expression, RejectsMalformedAndUnsupported) {
  EXPECT_FALSE(Expression::Parse("").ok());
  EXPECT_FALSE(Expression::Parse(std::string("\x93\x04", 2)).ok());      // truncated
  EXPECT_FALSE(Expression::Parse(std::string("\x92\x04\x01", 3)).ok());  // wrong arity
  // An array header claiming 2^31 entries (the fuzzer's find), and an op code that would
  // alias op 1 (==) if narrowed to int: both corrupt.
  EXPECT_EQ(Expression::Parse(std::string("\xdd\x80\x00\x00\x00\x01\x01", 7)).status().code(),
            StatusCode::kCorrupt);
  EXPECT_EQ(Expression::Parse(std::string("\x93\xcf\x00\x00\x00\x01\x00\x00\x00\x01\x01\x01", 12))
                .status()
                .code(),
            StatusCode::kCorrupt);
  EXPECT_TRUE(Expression::Parse(std::string("\x93\x01\x01\x01", 4)).ok());  // 1 == 1
  EXPECT_EQ(Expression::Parse(std::string("\x91\x7f", 2)).status().code(),
            StatusCode::kUnsupported);
  EXPECT_FALSE(Expression::Parse(exp::Int(1) + "x").ok());  // trailing bytes
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += "\x92\x12";  // NOT(NOT(...))
  deep += "\xc3";
  EXPECT_FALSE(Expression::Parse(deep).ok());
}

}  // namespace
}  // namespace absvc::wire
