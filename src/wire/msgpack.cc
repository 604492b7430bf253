#include "wire/msgpack.h"

#include <cstring>
#include <vector>

#include "common/bytes.h"

namespace absvc::wire {

void MsgpackWriter::Nil() {
  AppendU8(out_, 0xc0);
}
void MsgpackWriter::Bool(bool v) {
  AppendU8(out_, v ? 0xc3 : 0xc2);
}

void MsgpackWriter::Uint(uint64_t v) {
  if (v < 128) {
    AppendU8(out_, static_cast<uint8_t>(v));
  } else if (v <= 0xff) {
    AppendU8(out_, 0xcc);
    AppendU8(out_, static_cast<uint8_t>(v));
  } else if (v <= 0xffff) {
    AppendU8(out_, 0xcd);
    AppendU16BE(out_, static_cast<uint16_t>(v));
  } else if (v <= 0xffffffff) {
    AppendU8(out_, 0xce);
    AppendU32BE(out_, static_cast<uint32_t>(v));
  } else {
    AppendU8(out_, 0xcf);
    AppendU64BE(out_, v);
  }
}

void MsgpackWriter::Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  if (v >= -32) {
    AppendU8(out_, static_cast<uint8_t>(v));
  } else if (v >= INT8_MIN) {
    AppendU8(out_, 0xd0);
    AppendU8(out_, static_cast<uint8_t>(v));
  } else if (v >= INT16_MIN) {
    AppendU8(out_, 0xd1);
    AppendU16BE(out_, static_cast<uint16_t>(v));
  } else if (v >= INT32_MIN) {
    AppendU8(out_, 0xd2);
    AppendU32BE(out_, static_cast<uint32_t>(v));
  } else {
    AppendU8(out_, 0xd3);
    AppendU64BE(out_, static_cast<uint64_t>(v));
  }
}

void MsgpackWriter::Double(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  AppendU8(out_, 0xcb);
  AppendU64BE(out_, bits);
}

void MsgpackWriter::StrHeader(uint32_t n) {
  if (n < 32) {
    AppendU8(out_, static_cast<uint8_t>(0xa0 | n));
  } else if (n < 256) {
    AppendU8(out_, 0xd9);
    AppendU8(out_, static_cast<uint8_t>(n));
  } else if (n < 65536) {
    AppendU8(out_, 0xda);
    AppendU16BE(out_, static_cast<uint16_t>(n));
  } else {
    AppendU8(out_, 0xdb);
    AppendU32BE(out_, n);
  }
}

void MsgpackWriter::Str(std::string_view raw) {
  StrHeader(static_cast<uint32_t>(raw.size()));
  out_.append(raw);
}

void MsgpackWriter::ParticleString(uint8_t particle_type, std::string_view bytes) {
  StrHeader(static_cast<uint32_t>(bytes.size() + 1));
  AppendU8(out_, particle_type);
  out_.append(bytes);
}

void MsgpackWriter::Bin(std::string_view bytes) {
  uint32_t n = static_cast<uint32_t>(bytes.size());
  if (n < 256) {
    AppendU8(out_, 0xc4);
    AppendU8(out_, static_cast<uint8_t>(n));
  } else if (n < 65536) {
    AppendU8(out_, 0xc5);
    AppendU16BE(out_, static_cast<uint16_t>(n));
  } else {
    AppendU8(out_, 0xc6);
    AppendU32BE(out_, n);
  }
  out_.append(bytes);
}

void MsgpackWriter::ArrayHeader(uint32_t n) {
  if (n < 16) {
    AppendU8(out_, static_cast<uint8_t>(0x90 | n));
  } else if (n < 65536) {
    AppendU8(out_, 0xdc);
    AppendU16BE(out_, static_cast<uint16_t>(n));
  } else {
    AppendU8(out_, 0xdd);
    AppendU32BE(out_, n);
  }
}

void MsgpackWriter::MapHeader(uint32_t n) {
  if (n < 16) {
    AppendU8(out_, static_cast<uint8_t>(0x80 | n));
  } else if (n < 65536) {
    AppendU8(out_, 0xde);
    AppendU16BE(out_, static_cast<uint16_t>(n));
  } else {
    AppendU8(out_, 0xdf);
    AppendU32BE(out_, n);
  }
}

void MsgpackWriter::ExtHeader(uint32_t len, uint8_t ext_type) {
  switch (len) {
    case 1:
      AppendU8(out_, 0xd4);
      break;
    case 2:
      AppendU8(out_, 0xd5);
      break;
    case 4:
      AppendU8(out_, 0xd6);
      break;
    case 8:
      AppendU8(out_, 0xd7);
      break;
    case 16:
      AppendU8(out_, 0xd8);
      break;
    default:
      if (len < 256) {
        AppendU8(out_, 0xc7);
        AppendU8(out_, static_cast<uint8_t>(len));
      } else if (len < 65536) {
        AppendU8(out_, 0xc8);
        AppendU16BE(out_, static_cast<uint16_t>(len));
      } else {
        AppendU8(out_, 0xc9);
        AppendU32BE(out_, len);
      }
  }
  AppendU8(out_, ext_type);
}

Status MsgpackReader::Next(MsgpackItem* it) {
  if (!Need(1)) return Status::Corrupt("msgpack value truncated at offset " + std::to_string(pos_));
  const char* base = data_.data();
  uint8_t t = static_cast<uint8_t>(base[pos_++]);
  auto need = [&](size_t n) -> bool { return Need(n); };
  auto truncated = [&]() {
    return Status::Corrupt("msgpack value truncated at offset " + std::to_string(pos_));
  };
  auto take_bytes = [&](size_t n, MsgpackKind kind) -> Status {
    if (!need(n)) return truncated();
    it->kind = kind;
    it->bytes = data_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  };
  auto take_len = [&](size_t width, size_t* len) -> bool {
    if (!need(width)) return false;
    const char* p = base + pos_;
    *len = width == 1 ? static_cast<uint8_t>(*p) : width == 2 ? LoadU16BE(p) : LoadU32BE(p);
    pos_ += width;
    return true;
  };
  size_t len = 0;
  if (t <= 0x7f) {
    it->kind = MsgpackKind::kInt;
    it->i = t;
    return Status::Ok();
  }
  if (t >= 0xe0) {
    it->kind = MsgpackKind::kInt;
    it->i = static_cast<int8_t>(t);
    return Status::Ok();
  }
  if ((t & 0xf0) == 0x80) {
    it->kind = MsgpackKind::kMap;
    it->count = t & 0x0f;
    return Status::Ok();
  }
  if ((t & 0xf0) == 0x90) {
    it->kind = MsgpackKind::kArray;
    it->count = t & 0x0f;
    return Status::Ok();
  }
  if ((t & 0xe0) == 0xa0) return take_bytes(t & 0x1f, MsgpackKind::kStr);
  switch (t) {
    case 0xc0:
      it->kind = MsgpackKind::kNil;
      return Status::Ok();
    case 0xc2:
    case 0xc3:
      it->kind = MsgpackKind::kBool;
      it->b = t == 0xc3;
      return Status::Ok();
    case 0xc4:
    case 0xc5:
    case 0xc6:
      if (!take_len(size_t{1} << (t - 0xc4), &len)) return truncated();
      return take_bytes(len, MsgpackKind::kBin);
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      if (!take_len(size_t{1} << (t - 0xc7), &len) || !need(1)) return truncated();
      it->ext_type = static_cast<int8_t>(base[pos_++]);
      return take_bytes(len, MsgpackKind::kExt);
    }
    case 0xca: {
      if (!need(4)) return truncated();
      uint32_t bits = LoadU32BE(base + pos_);
      float f;
      std::memcpy(&f, &bits, 4);
      pos_ += 4;
      it->kind = MsgpackKind::kDouble;
      it->d = f;
      return Status::Ok();
    }
    case 0xcb: {
      if (!need(8)) return truncated();
      uint64_t bits = LoadU64BE(base + pos_);
      std::memcpy(&it->d, &bits, 8);
      pos_ += 8;
      it->kind = MsgpackKind::kDouble;
      return Status::Ok();
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      size_t w = size_t{1} << (t - 0xcc);
      if (!need(w)) return truncated();
      const char* p = base + pos_;
      uint64_t v = w == 1   ? static_cast<uint8_t>(*p)
                   : w == 2 ? LoadU16BE(p)
                   : w == 4 ? LoadU32BE(p)
                            : LoadU64BE(p);
      pos_ += w;
      if (v > static_cast<uint64_t>(INT64_MAX)) {
        it->kind = MsgpackKind::kUint;
        it->u = v;
      } else {
        it->kind = MsgpackKind::kInt;
        it->i = static_cast<int64_t>(v);
      }
      return Status::Ok();
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      size_t w = size_t{1} << (t - 0xd0);
      if (!need(w)) return truncated();
      const char* p = base + pos_;
      it->i = w == 1   ? static_cast<int8_t>(*p)
              : w == 2 ? static_cast<int16_t>(LoadU16BE(p))
              : w == 4 ? static_cast<int32_t>(LoadU32BE(p))
                       : static_cast<int64_t>(LoadU64BE(p));
      pos_ += w;
      it->kind = MsgpackKind::kInt;
      return Status::Ok();
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
      if (!need(1)) return truncated();
      it->ext_type = static_cast<int8_t>(base[pos_++]);
      return take_bytes(size_t{1} << (t - 0xd4), MsgpackKind::kExt);
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
      if (!take_len(size_t{1} << (t - 0xd9), &len)) return truncated();
      return take_bytes(len, MsgpackKind::kStr);
    case 0xdc:
    case 0xdd:
      if (!take_len(t == 0xdc ? 2 : 4, &len)) return truncated();
      it->kind = MsgpackKind::kArray;
      it->count = static_cast<uint32_t>(len);
      return Status::Ok();
    case 0xde:
    case 0xdf:
      if (!take_len(t == 0xde ? 2 : 4, &len)) return truncated();
      it->kind = MsgpackKind::kMap;
      it->count = static_cast<uint32_t>(len);
      return Status::Ok();
    default:
      return Status::Corrupt("msgpack byte 0x" + HexEncode(std::string_view(base + pos_ - 1, 1)) +
                             " is not a valid type at offset " + std::to_string(pos_ - 1));
  }
}

Status MsgpackReader::Skip() {
  // Pending children per open container; iterative so hostile nesting cannot overflow the
  // stack.
  std::vector<uint64_t> pending;
  pending.push_back(1);
  MsgpackItem it;
  while (!pending.empty()) {
    if (pending.back() == 0) {
      pending.pop_back();
      continue;
    }
    --pending.back();
    ABS_RETURN_IF_ERROR(Next(&it));
    uint64_t children = 0;
    if (it.kind == MsgpackKind::kArray) children = it.count;
    if (it.kind == MsgpackKind::kMap) children = uint64_t{it.count} * 2;
    if (children > 0) {
      // Each child takes at least one byte, so a count beyond the remaining bytes is a lie.
      if (children > data_.size() - pos_) {
        return Status::Corrupt("msgpack container claims " + std::to_string(children) +
                               " elements, more than the bytes left");
      }
      if (pending.size() >= kMaxMsgpackDepth) {
        return Status::Corrupt("msgpack nesting deeper than " + std::to_string(kMaxMsgpackDepth));
      }
      pending.push_back(children);
    }
  }
  return Status::Ok();
}

Status ValidateMsgpack(std::string_view data) {
  MsgpackReader r(data);
  ABS_RETURN_IF_ERROR(r.Skip());
  if (!r.AtEnd()) {
    return Status::Corrupt("msgpack value followed by " + std::to_string(data.size() - r.offset()) +
                           " extra bytes");
  }
  return Status::Ok();
}

}  // namespace absvc::wire
