// msgpack as Aerospike uses it for list and map particles and for filter expressions.
// Strings inside CDTs carry a leading particle-type byte (0x03 string, 0x04 blob, 0x17
// geojson) inside a msgpack str header; MsgpackWriter::ParticleString writes that form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc::wire {

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::string& out) : out_(out) {}

  void Nil();
  void Bool(bool v);
  void Int(int64_t v);  // smallest form; non-negative values use the unsigned forms
  void Uint(uint64_t v);
  void Double(double v);
  void Str(std::string_view raw);  // plain str (bin names in expressions)
  void ParticleString(uint8_t particle_type, std::string_view bytes);
  void Bin(std::string_view bytes);
  void ArrayHeader(uint32_t n);
  void MapHeader(uint32_t n);
  void ExtHeader(uint32_t len, uint8_t ext_type);
  void Raw(std::string_view bytes) { out_.append(bytes); }

 private:
  void StrHeader(uint32_t n);
  std::string& out_;
};

enum class MsgpackKind : uint8_t {
  kNil,
  kBool,
  kInt,   // signed value in i
  kUint,  // value above INT64_MAX in u
  kDouble,
  kStr,
  kBin,
  kArray,  // count = number of elements that follow
  kMap,    // count = number of pairs that follow
  kExt,
};

struct MsgpackItem {
  MsgpackKind kind = MsgpackKind::kNil;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string_view bytes;  // str, bin, ext payload
  uint32_t count = 0;
  int8_t ext_type = 0;
};

// Pull reader over a buffer. Next() reads one item header (containers are not descended
// automatically: the caller reads `count` children). Skip() skips a whole value.
class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view data) : data_(data) {}

  Status Next(MsgpackItem* item);
  Status Skip();  // one complete value, iteratively, with a nesting limit
  bool AtEnd() const { return pos_ >= data_.size(); }
  size_t offset() const { return pos_; }

 private:
  bool Need(size_t n) const { return data_.size() - pos_ >= n; }
  std::string_view data_;
  size_t pos_ = 0;
};

// Checks that `data` holds exactly one well-formed msgpack value (nesting at most 64).
Status ValidateMsgpack(std::string_view data);

inline constexpr int kMaxMsgpackDepth = 64;

}  // namespace absvc::wire
