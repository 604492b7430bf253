// Fields of JSON that abs did not just build itself (files in the storage, the job store,
// answers of token and metadata servers). nlohmann's value() and get<>() throw, or convert
// unchecked, when a field holds another type; these read such a field as absent.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace absvc {

// The text at `key` of an object; `fallback` when `j` is no object or the field no string.
inline std::string StringField(const nlohmann::json& j, const char* key,
                               std::string fallback = {}) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The integer at `key`; `fallback` unless it is a JSON integer that fits in int64.
inline int64_t IntField(const nlohmann::json& j, const char* key, int64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return fallback;
  }
  return it->get<int64_t>();
}

// The count at `key`; `fallback` unless it is a non-negative JSON integer.
inline uint64_t CountField(const nlohmann::json& j, const char* key, uint64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}

}  // namespace absvc
