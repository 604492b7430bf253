// Particle types: how bin values and user keys are encoded on the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc::wire {

enum class ParticleType : uint8_t {
  kNil = 0,
  kInteger = 1,
  kFloat = 2,
  kString = 3,
  kBlob = 4,
  kJavaBlob = 7,
  kCsharpBlob = 8,
  kPythonBlob = 9,
  kRubyBlob = 10,
  kPhpBlob = 11,
  kErlangBlob = 12,
  kVector = 16,
  kBool = 17,
  kHll = 18,
  kMap = 19,
  kList = 20,
  kGeoJson = 23,
};

inline uint8_t ToByte(ParticleType t) {
  return static_cast<uint8_t>(t);
}

// "integer", "string", ...; "unknown(N)" for other bytes.
std::string ParticleTypeName(uint8_t type);
bool IsKnownParticleType(uint8_t type);
// Blob and the language-specific blob subtypes (4, 7..12).
bool IsBlobType(uint8_t type);

// Checks the value bytes are well formed for `type`: integers and floats are 8 bytes,
// bools 1, geojson has its cell header, lists and maps are one valid msgpack value.
Status ValidateParticle(uint8_t type, std::string_view value);

std::string EncodeInteger(int64_t v);
std::string EncodeFloat(double v);
std::string EncodeBool(bool v);
// GeoJSON particle with no cells: [flags 0][ncells u16 0][json].
std::string EncodeGeoJson(std::string_view json);

// Callers validate first; these read the fixed-size forms.
int64_t DecodeInteger(std::string_view value);
double DecodeFloat(std::string_view value);
// The JSON text of a geojson particle (cells skipped); empty if malformed.
std::string_view GeoJsonText(std::string_view value);

}  // namespace absvc::wire
