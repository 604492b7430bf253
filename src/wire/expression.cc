#include "wire/expression.h"

#include <cstdint>
#include <cstring>

#include "common/bytes.h"
#include "wire/msgpack.h"
#include "wire/particle.h"

namespace absvc::wire {

namespace exp {
namespace {

std::string Op(int op, std::initializer_list<std::string_view> args) {
  std::string out;
  MsgpackWriter w(out);
  w.ArrayHeader(static_cast<uint32_t>(1 + args.size()));
  w.Int(op);
  for (auto a : args)
    out.append(a);
  return out;
}

std::string OpList(int op, const std::vector<std::string_view>& args) {
  std::string out;
  MsgpackWriter w(out);
  w.ArrayHeader(static_cast<uint32_t>(1 + args.size()));
  w.Int(op);
  for (auto a : args)
    out.append(a);
  return out;
}

}  // namespace

std::string Int(int64_t v) {
  std::string out;
  MsgpackWriter(out).Int(v);
  return out;
}
std::string Float(double v) {
  std::string out;
  MsgpackWriter(out).Double(v);
  return out;
}
std::string Bool(bool v) {
  std::string out;
  MsgpackWriter(out).Bool(v);
  return out;
}
std::string Str(std::string_view v) {
  std::string out;
  MsgpackWriter(out).ParticleString(ToByte(ParticleType::kString), v);
  return out;
}
std::string Blob(std::string_view v) {
  std::string out;
  MsgpackWriter(out).Bin(v);
  return out;
}

std::string LastUpdate() {
  return Op(exp_op::kLastUpdate, {});
}
std::string SinceUpdate() {
  return Op(exp_op::kSinceUpdate, {});
}
std::string VoidTime() {
  return Op(exp_op::kVoidTime, {});
}
std::string Ttl() {
  return Op(exp_op::kTtl, {});
}
std::string SetName() {
  return Op(exp_op::kSetName, {});
}
std::string KeyExists() {
  return Op(exp_op::kKeyExists, {});
}
std::string IsTombstone() {
  return Op(exp_op::kIsTombstone, {});
}
std::string RecordSize() {
  return Op(exp_op::kRecordSize, {});
}
std::string DigestModulo(int64_t mod) {
  return Op(exp_op::kDigestModulo, {Int(mod)});
}
std::string Bin(ExpType type, std::string_view name) {
  std::string n;
  MsgpackWriter(n).Str(name);
  return Op(exp_op::kBin, {Int(static_cast<int64_t>(type)), n});
}
std::string BinType(std::string_view name) {
  std::string n;
  MsgpackWriter(n).Str(name);
  return Op(exp_op::kBinType, {n});
}
std::string Key(ExpType type) {
  return Op(exp_op::kKey, {Int(static_cast<int64_t>(type))});
}

std::string Eq(std::string_view a, std::string_view b) {
  return Op(exp_op::kEq, {a, b});
}
std::string Ne(std::string_view a, std::string_view b) {
  return Op(exp_op::kNe, {a, b});
}
std::string Gt(std::string_view a, std::string_view b) {
  return Op(exp_op::kGt, {a, b});
}
std::string Ge(std::string_view a, std::string_view b) {
  return Op(exp_op::kGe, {a, b});
}
std::string Lt(std::string_view a, std::string_view b) {
  return Op(exp_op::kLt, {a, b});
}
std::string Le(std::string_view a, std::string_view b) {
  return Op(exp_op::kLe, {a, b});
}
std::string And(std::initializer_list<std::string_view> parts) {
  return Op(exp_op::kAnd, parts);
}
std::string Or(std::initializer_list<std::string_view> parts) {
  return Op(exp_op::kOr, parts);
}
std::string And(const std::vector<std::string>& parts) {
  return OpList(exp_op::kAnd, std::vector<std::string_view>(parts.begin(), parts.end()));
}
std::string Or(const std::vector<std::string>& parts) {
  return OpList(exp_op::kOr, std::vector<std::string_view>(parts.begin(), parts.end()));
}
std::string Not(std::string_view a) {
  return Op(exp_op::kNot, {a});
}

}  // namespace exp

namespace {

inline constexpr int kMaxExpressionDepth = 64;
inline constexpr size_t kMaxExpressionNodes = 65536;

// The number of arguments each supported op takes; -1 = variadic (at least 1).
int Arity(int op) {
  switch (op) {
    case exp_op::kEq:
    case exp_op::kNe:
    case exp_op::kGt:
    case exp_op::kGe:
    case exp_op::kLt:
    case exp_op::kLe:
      return 2;
    case exp_op::kAnd:
    case exp_op::kOr:
    case exp_op::kExclusive:
      return -1;
    case exp_op::kNot:
      return 1;
    case exp_op::kDigestModulo:
      return 1;
    case exp_op::kDeviceSize:
    case exp_op::kLastUpdate:
    case exp_op::kSinceUpdate:
    case exp_op::kVoidTime:
    case exp_op::kTtl:
    case exp_op::kSetName:
    case exp_op::kKeyExists:
    case exp_op::kIsTombstone:
    case exp_op::kMemorySize:
    case exp_op::kRecordSize:
      return 0;
    case exp_op::kKey:
      return 1;
    case exp_op::kBin:
      return 2;
    case exp_op::kBinType:
      return 1;
    default:
      return -2;
  }
}

}  // namespace

Result<Expression> Expression::Parse(std::string_view packed) {
  Expression e;
  e.packed_ = std::make_shared<const std::string>(packed);
  size_t pos = 0;
  auto root = e.ParseNode(*e.packed_, &pos, 0);
  if (!root.ok()) return root.status().WithContext("filter expression");
  if (pos != e.packed_->size()) {
    return Status::Corrupt("filter expression followed by " +
                           std::to_string(e.packed_->size() - pos) + " extra bytes");
  }
  return e;
}

Result<int> Expression::ParseNode(std::string_view packed, size_t* pos, int depth) {
  if (depth > kMaxExpressionDepth) return Status::Corrupt("nested deeper than 64");
  if (nodes_.size() >= kMaxExpressionNodes) return Status::Corrupt("more than 65536 nodes");
  MsgpackReader r(packed.substr(*pos));
  MsgpackItem it;
  ABS_RETURN_IF_ERROR(r.Next(&it));
  *pos += r.offset();
  Node node;
  switch (it.kind) {
    case MsgpackKind::kNil:
      node.kind = Kind::kNil;
      break;
    case MsgpackKind::kBool:
      node.kind = Kind::kBool;
      node.literal.b = it.b;
      break;
    case MsgpackKind::kInt:
      node.kind = Kind::kInt;
      node.literal.i = it.i;
      break;
    case MsgpackKind::kUint:
      node.kind = Kind::kInt;
      node.literal.i = static_cast<int64_t>(it.u);
      break;
    case MsgpackKind::kDouble:
      node.kind = Kind::kFloat;
      node.literal.d = it.d;
      break;
    case MsgpackKind::kBin:
      node.kind = Kind::kBlob;
      node.literal.bytes = it.bytes;
      break;
    case MsgpackKind::kStr: {
      // Literal strings carry a particle-type byte; a bare str is treated as a string.
      std::string_view b = it.bytes;
      if (!b.empty() && static_cast<uint8_t>(b[0]) == ToByte(ParticleType::kString)) {
        node.kind = Kind::kString;
        node.literal.bytes = b.substr(1);
      } else if (!b.empty() && IsBlobType(static_cast<uint8_t>(b[0]))) {
        node.kind = Kind::kBlob;
        node.literal.bytes = b.substr(1);
      } else {
        node.kind = Kind::kString;
        node.literal.bytes = b;
      }
      break;
    }
    case MsgpackKind::kArray: {
      if (it.count == 0) return Status::Corrupt("empty expression array");
      MsgpackReader opr(packed.substr(*pos));
      MsgpackItem op;
      ABS_RETURN_IF_ERROR(opr.Next(&op));
      if (op.kind != MsgpackKind::kInt) return Status::Corrupt("expression op is not an integer");
      *pos += opr.offset();
      // Op codes are small; an array header may claim up to 2^32 entries. Neither may wrap
      // when narrowed (a huge op would alias a real one, a huge count go negative).
      if (op.i < 0 || op.i > INT32_MAX) {
        return Status::Corrupt("expression op " + std::to_string(op.i) + " is out of range");
      }
      if (it.count > packed.size()) {
        return Status::Corrupt("expression array of " + std::to_string(it.count) + " entries in " +
                               std::to_string(packed.size()) + " bytes");
      }
      node.kind = Kind::kOp;
      node.op = static_cast<int>(op.i);
      int arity = Arity(node.op);
      int nargs = static_cast<int>(it.count) - 1;
      if (arity == -2) {
        return Status::Unsupported("expression op " + std::to_string(node.op) +
                                   " is not supported");
      }
      if ((arity >= 0 && nargs != arity) || (arity == -1 && nargs < 1)) {
        return Status::Corrupt("expression op " + std::to_string(node.op) + " has " +
                               std::to_string(nargs) + " arguments");
      }
      if (node.op == exp_op::kBin || node.op == exp_op::kBinType || node.op == exp_op::kKey) {
        // Typed/named accessors: read their literal arguments directly.
        MsgpackReader ar(packed.substr(*pos));
        MsgpackItem a;
        if (node.op != exp_op::kBinType) {
          ABS_RETURN_IF_ERROR(ar.Next(&a));
          if (a.kind != MsgpackKind::kInt) return Status::Corrupt("expression type is not int");
          node.exp_type = static_cast<ExpType>(a.i);
        }
        if (node.op != exp_op::kKey) {
          ABS_RETURN_IF_ERROR(ar.Next(&a));
          if (a.kind != MsgpackKind::kStr) return Status::Corrupt("bin name is not a string");
          node.name = a.bytes;
        }
        *pos += ar.offset();
        nodes_.push_back(node);
        return static_cast<int>(nodes_.size() - 1);
      }
      std::vector<int> kids;
      for (int i = 0; i < nargs; ++i) {
        ABS_ASSIGN_OR_RETURN(int child, ParseNode(packed, pos, depth + 1));
        kids.push_back(child);
      }
      node.first_child = static_cast<int>(children_.size());
      node.child_count = nargs;
      children_.insert(children_.end(), kids.begin(), kids.end());
      break;
    }
    default:
      return Status::Unsupported("expression literal of this msgpack kind is not supported");
  }
  nodes_.push_back(node);
  return static_cast<int>(nodes_.size() - 1);
}

namespace {

// -1, 0, 1, or 2 when the two values cannot be ordered.
template <typename V>
int Compare(const V& a, const V& b, bool is_bool, bool is_int, bool is_float, bool is_bytes) {
  if (is_bool) return a.b == b.b ? 0 : (a.b ? 1 : -1);
  if (is_int) return a.i == b.i ? 0 : (a.i < b.i ? -1 : 1);
  if (is_float) {
    if (a.d == b.d) return 0;
    if (a.d < b.d) return -1;
    if (a.d > b.d) return 1;
    return 2;
  }
  if (is_bytes) {
    int c = a.bytes.compare(b.bytes);
    return c == 0 ? 0 : (c < 0 ? -1 : 1);
  }
  return 2;
}

}  // namespace

Expression::Value Expression::Eval(int index, const ExpRecord& rec) const {
  const Node& n = nodes_[static_cast<size_t>(index)];
  if (n.kind != Kind::kOp) {
    Value v = n.literal;
    v.kind = n.kind;
    return v;
  }
  Value out;
  auto make_int = [&](int64_t i) {
    out.kind = Kind::kInt;
    out.i = i;
    return out;
  };
  auto make_bool = [&](bool b) {
    out.kind = Kind::kBool;
    out.b = b;
    return out;
  };
  auto child = [&](int i) { return children_[static_cast<size_t>(n.first_child + i)]; };
  switch (n.op) {
    case exp_op::kEq:
    case exp_op::kNe:
    case exp_op::kGt:
    case exp_op::kGe:
    case exp_op::kLt:
    case exp_op::kLe: {
      Value a = Eval(child(0), rec);
      Value b = Eval(child(1), rec);
      if (a.kind == Kind::kUnknown || b.kind == Kind::kUnknown || a.kind != b.kind) return out;
      int c = Compare(a, b, a.kind == Kind::kBool, a.kind == Kind::kInt, a.kind == Kind::kFloat,
                      a.kind == Kind::kString || a.kind == Kind::kBlob);
      if (a.kind == Kind::kNil) c = 0;
      if (c == 2) return out;
      if (a.kind == Kind::kBool && n.op != exp_op::kEq && n.op != exp_op::kNe) return out;
      switch (n.op) {
        case exp_op::kEq:
          return make_bool(c == 0);
        case exp_op::kNe:
          return make_bool(c != 0);
        case exp_op::kGt:
          return make_bool(c > 0);
        case exp_op::kGe:
          return make_bool(c >= 0);
        case exp_op::kLt:
          return make_bool(c < 0);
        default:
          return make_bool(c <= 0);
      }
    }
    case exp_op::kAnd:
    case exp_op::kOr: {
      bool is_and = n.op == exp_op::kAnd;
      bool unknown = false;
      for (int i = 0; i < n.child_count; ++i) {
        Value v = Eval(child(i), rec);
        if (v.kind != Kind::kBool) {
          unknown = true;
          continue;
        }
        if (is_and && !v.b) return make_bool(false);
        if (!is_and && v.b) return make_bool(true);
      }
      if (unknown) return out;
      return make_bool(is_and);
    }
    case exp_op::kExclusive: {
      int trues = 0;
      for (int i = 0; i < n.child_count; ++i) {
        Value v = Eval(child(i), rec);
        if (v.kind != Kind::kBool) return out;
        trues += v.b ? 1 : 0;
      }
      return make_bool(trues == 1);
    }
    case exp_op::kNot: {
      Value v = Eval(child(0), rec);
      if (v.kind != Kind::kBool) return out;
      return make_bool(!v.b);
    }
    case exp_op::kDigestModulo: {
      Value m = Eval(child(0), rec);
      if (m.kind != Kind::kInt || m.i <= 0 || rec.digest == nullptr) return out;
      // The server reads digest bytes 16..19 as a little-endian u32.
      uint32_t v = uint32_t{rec.digest[16]} | (uint32_t{rec.digest[17]} << 8) |
                   (uint32_t{rec.digest[18]} << 16) | (uint32_t{rec.digest[19]} << 24);
      return make_int(static_cast<int64_t>(v % static_cast<uint64_t>(m.i)));
    }
    case exp_op::kLastUpdate:
      return make_int(rec.last_update_unix_ns);
    case exp_op::kSinceUpdate:
      return make_int(rec.since_update_ms);
    case exp_op::kVoidTime:
      return make_int(rec.void_time_unix_ns);
    case exp_op::kTtl:
      return make_int(rec.ttl_seconds);
    case exp_op::kSetName:
      out.kind = Kind::kString;
      out.bytes = rec.set_name;
      return out;
    case exp_op::kKeyExists:
      return make_bool(!rec.key.empty());
    case exp_op::kIsTombstone:
      return make_bool(false);
    case exp_op::kDeviceSize:
    case exp_op::kMemorySize:
    case exp_op::kRecordSize:
      return make_int(rec.record_size);
    case exp_op::kKey: {
      if (rec.key.empty()) return out;
      uint8_t type = static_cast<uint8_t>(rec.key[0]);
      std::string_view bytes = rec.key.substr(1);
      if (n.exp_type == ExpType::kInt && type == ToByte(ParticleType::kInteger) &&
          bytes.size() == 8) {
        return make_int(DecodeInteger(bytes));
      }
      if (n.exp_type == ExpType::kString && type == ToByte(ParticleType::kString)) {
        out.kind = Kind::kString;
        out.bytes = bytes;
        return out;
      }
      if (n.exp_type == ExpType::kBlob && IsBlobType(type)) {
        out.kind = Kind::kBlob;
        out.bytes = bytes;
        return out;
      }
      return out;
    }
    case exp_op::kBin:
    case exp_op::kBinType: {
      uint8_t type = 0;
      std::string_view value;
      bool found = rec.find_bin && rec.find_bin(rec.bin_context, n.name, &type, &value);
      if (n.op == exp_op::kBinType) return make_int(found ? type : 0);
      if (!found) return out;
      switch (n.exp_type) {
        case ExpType::kInt:
          if (type != ToByte(ParticleType::kInteger) || value.size() != 8) return out;
          return make_int(DecodeInteger(value));
        case ExpType::kFloat:
          if (type != ToByte(ParticleType::kFloat) || value.size() != 8) return out;
          out.kind = Kind::kFloat;
          out.d = DecodeFloat(value);
          return out;
        case ExpType::kBool:
          if (type != ToByte(ParticleType::kBool) || value.size() != 1) return out;
          return make_bool(value[0] != 0);
        case ExpType::kString:
          if (type != ToByte(ParticleType::kString)) return out;
          out.kind = Kind::kString;
          out.bytes = value;
          return out;
        case ExpType::kBlob:
          if (!IsBlobType(type)) return out;
          out.kind = Kind::kBlob;
          out.bytes = value;
          return out;
        default:
          return out;
      }
    }
    default:
      return out;
  }
}

bool Expression::Matches(const ExpRecord& record) const {
  if (nodes_.empty()) return true;
  // The root is the last node parsed.
  Value v = Eval(static_cast<int>(nodes_.size() - 1), record);
  return v.kind == Kind::kBool && v.b;
}

}  // namespace absvc::wire
