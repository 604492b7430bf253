#include "wire/particle.h"

#include <cstring>

#include "common/bytes.h"
#include "wire/msgpack.h"

namespace absvc::wire {

std::string ParticleTypeName(uint8_t type) {
  switch (static_cast<ParticleType>(type)) {
    case ParticleType::kNil:
      return "nil";
    case ParticleType::kInteger:
      return "integer";
    case ParticleType::kFloat:
      return "float";
    case ParticleType::kString:
      return "string";
    case ParticleType::kBlob:
      return "blob";
    case ParticleType::kJavaBlob:
      return "java-blob";
    case ParticleType::kCsharpBlob:
      return "csharp-blob";
    case ParticleType::kPythonBlob:
      return "python-blob";
    case ParticleType::kRubyBlob:
      return "ruby-blob";
    case ParticleType::kPhpBlob:
      return "php-blob";
    case ParticleType::kErlangBlob:
      return "erlang-blob";
    case ParticleType::kVector:
      return "vector";
    case ParticleType::kBool:
      return "bool";
    case ParticleType::kHll:
      return "hll";
    case ParticleType::kMap:
      return "map";
    case ParticleType::kList:
      return "list";
    case ParticleType::kGeoJson:
      return "geojson";
  }
  return "unknown(" + std::to_string(type) + ")";
}

bool IsKnownParticleType(uint8_t type) {
  return ParticleTypeName(type).rfind("unknown", 0) != 0;
}

bool IsBlobType(uint8_t type) {
  return type == 4 || (type >= 7 && type <= 12);
}

Status ValidateParticle(uint8_t type, std::string_view value) {
  auto wrong_size = [&](const char* what) {
    return Status::Corrupt(std::string(what) + " value must be " +
                           (type == ToByte(ParticleType::kBool) ? "1 byte" : "8 bytes") + ", got " +
                           std::to_string(value.size()));
  };
  switch (static_cast<ParticleType>(type)) {
    case ParticleType::kNil:
      return Status::Ok();
    case ParticleType::kInteger:
      return value.size() == 8 ? Status::Ok() : wrong_size("integer");
    case ParticleType::kFloat:
      return value.size() == 8 ? Status::Ok() : wrong_size("float");
    case ParticleType::kBool:
      return value.size() == 1 ? Status::Ok() : wrong_size("bool");
    case ParticleType::kGeoJson: {
      if (value.size() < 3) return Status::Corrupt("geojson value shorter than its header");
      size_t cells = LoadU16BE(value.data() + 1);
      if (value.size() < 3 + cells * 8) return Status::Corrupt("geojson cells run past value");
      return Status::Ok();
    }
    case ParticleType::kMap:
    case ParticleType::kList: {
      auto st = ValidateMsgpack(value);
      if (!st.ok()) return st.WithContext(ParticleTypeName(type) + " value");
      return Status::Ok();
    }
    default:
      if (IsKnownParticleType(type)) return Status::Ok();
      return Status::Corrupt("unknown particle type " + std::to_string(type));
  }
}

std::string EncodeInteger(int64_t v) {
  std::string s(8, '\0');
  StoreU64BE(s.data(), static_cast<uint64_t>(v));
  return s;
}

std::string EncodeFloat(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  std::string s(8, '\0');
  StoreU64BE(s.data(), bits);
  return s;
}

std::string EncodeBool(bool v) {
  return std::string(1, v ? '\1' : '\0');
}

std::string EncodeGeoJson(std::string_view json) {
  std::string s(3, '\0');
  s.append(json);
  return s;
}

int64_t DecodeInteger(std::string_view value) {
  return static_cast<int64_t>(LoadU64BE(value.data()));
}

double DecodeFloat(std::string_view value) {
  uint64_t bits = LoadU64BE(value.data());
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

std::string_view GeoJsonText(std::string_view value) {
  if (value.size() < 3) return {};
  size_t cells = LoadU16BE(value.data() + 1);
  size_t skip = 3 + cells * 8;
  if (value.size() < skip) return {};
  return value.substr(skip);
}

}  // namespace absvc::wire
