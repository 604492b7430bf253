// Filter expressions (field 43): a msgpack tree where each operation is an array
// [opcode, args...]. ExpBuilder packs the filters backups need; Expression parses a
// packed tree once and evaluates it against many records (the devcluster's scans).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::wire {

namespace exp_op {
inline constexpr int kEq = 1, kNe = 2, kGt = 3, kGe = 4, kLt = 5, kLe = 6;
inline constexpr int kAnd = 16, kOr = 17, kNot = 18, kExclusive = 19;
inline constexpr int kDigestModulo = 64, kDeviceSize = 65, kLastUpdate = 66, kSinceUpdate = 67,
                     kVoidTime = 68, kTtl = 69, kSetName = 70, kKeyExists = 71, kIsTombstone = 72,
                     kMemorySize = 73, kRecordSize = 74;
inline constexpr int kKey = 80, kBin = 81, kBinType = 82;
}  // namespace exp_op

// Value types used by KEY and BIN ops.
enum class ExpType : uint8_t {
  kNil = 0,
  kBool = 1,
  kInt = 2,
  kString = 3,
  kList = 4,
  kMap = 5,
  kBlob = 6,
  kFloat = 7,
  kGeo = 8,
  kHll = 9,
};

// Packs expressions. Every function returns the packed bytes of one sub-expression.
namespace exp {
std::string Int(int64_t v);
std::string Float(double v);
std::string Bool(bool v);
std::string Str(std::string_view v);
std::string Blob(std::string_view v);

std::string LastUpdate();   // Unix nanoseconds
std::string SinceUpdate();  // milliseconds
std::string VoidTime();     // Unix nanoseconds, -1 when the record never expires
std::string Ttl();          // seconds, -1 when the record never expires
std::string SetName();
std::string KeyExists();
std::string IsTombstone();
std::string RecordSize();
std::string DigestModulo(int64_t mod);
std::string Bin(ExpType type, std::string_view name);
std::string BinType(std::string_view name);
std::string Key(ExpType type);

std::string Eq(std::string_view a, std::string_view b);
std::string Ne(std::string_view a, std::string_view b);
std::string Gt(std::string_view a, std::string_view b);
std::string Ge(std::string_view a, std::string_view b);
std::string Lt(std::string_view a, std::string_view b);
std::string Le(std::string_view a, std::string_view b);
std::string And(std::initializer_list<std::string_view> parts);
std::string Or(std::initializer_list<std::string_view> parts);
std::string And(const std::vector<std::string>& parts);
std::string Or(const std::vector<std::string>& parts);
std::string Not(std::string_view a);
}  // namespace exp

// What an expression may ask of a record.
struct ExpRecord {
  int64_t last_update_unix_ns = 0;
  int64_t void_time_unix_ns = -1;  // -1 = never expires
  int64_t ttl_seconds = -1;        // -1 = never expires
  int64_t since_update_ms = 0;
  std::string_view set_name;
  const uint8_t* digest = nullptr;  // 20 bytes
  std::string_view key;             // particle type byte + key bytes; empty = no stored key
  int64_t record_size = 0;
  // Returns false when the bin is absent; else sets its particle type and value bytes.
  bool (*find_bin)(const void* ctx, std::string_view name, uint8_t* particle_type,
                   std::string_view* value) = nullptr;
  const void* bin_context = nullptr;
};

class Expression {
 public:
  // Parses a packed expression; an op this implementation does not evaluate is reported
  // as kUnsupported, malformed bytes as kCorrupt.
  static Result<Expression> Parse(std::string_view packed);

  // True when the expression evaluates to boolean true; false, unknown (a missing bin,
  // mismatched types) and non-boolean results all filter the record out.
  bool Matches(const ExpRecord& record) const;

 private:
  enum class Kind : uint8_t { kUnknown, kNil, kBool, kInt, kFloat, kString, kBlob, kOp };
  struct Value {
    Kind kind = Kind::kUnknown;
    bool b = false;
    int64_t i = 0;
    double d = 0;
    std::string_view bytes;
  };
  struct Node {
    Kind kind = Kind::kOp;  // kOp, or the literal's kind
    int op = 0;
    Value literal;
    ExpType exp_type = ExpType::kNil;  // for BIN and KEY
    std::string_view name;             // for BIN and BIN_TYPE
    int first_child = 0;
    int child_count = 0;
  };
  Result<int> ParseNode(std::string_view packed, size_t* pos, int depth);
  Value Eval(int index, const ExpRecord& record) const;

  // Owns the bytes that literal and name views point into; shared so that moving or
  // copying an Expression keeps the views valid.
  std::shared_ptr<const std::string> packed_;
  std::vector<Node> nodes_;
  std::vector<int> children_;
};

}  // namespace absvc::wire
