// YAML to the configuration's JSON document and back, bounded against documents that
// describe huge or cyclic trees.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <set>
#include <unordered_set>

#include "common/text.h"
#include "config/config.h"

namespace absvc::service {
namespace {

// Plain YAML scalars typed by the YAML 1.2 core schema.
Json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && std::all_of(s.begin() + static_cast<long>(i), s.end(), ::isdigit)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return static_cast<int64_t>(v);
  }
  // Digits grouped with '_' (50_000_000): YAML 1.1 integers, which ABS's own samples use
  // and its YAML reader accepts. A digit must start and end the number.
  if (i < s.size() && s.find('_') != std::string::npos &&
      std::isdigit(static_cast<unsigned char>(s[i])) &&
      std::isdigit(static_cast<unsigned char>(s.back())) &&
      std::all_of(s.begin() + static_cast<long>(i), s.end(),
                  [](char c) { return c == '_' || std::isdigit(static_cast<unsigned char>(c)); })) {
    std::string digits;
    for (char c : s)
      if (c != '_') digits += c;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return static_cast<int64_t>(v);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str() + 2, &end, s[1] == 'x' ? 16 : 8);
    if (*end == '\0') return static_cast<int64_t>(v);
  }
  {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    bool numeric_chars = s.find_first_not_of("0123456789+-.eE") == std::string::npos;
    if (numeric_chars && *end == '\0' && s.find_first_of("0123456789") != std::string::npos)
      return d;
  }
  return s;
}

// Converting a YAML document is bounded: aliases let a small file describe a huge or
// cyclic tree (a "billion laughs", `a: &a {b: *a}`), so the conversion refuses a cycle,
// nesting deeper than kMaxYamlDepth and more than a budget of values, and stays linear in
// what it produces.

struct YamlConversion {
  std::string where;
  size_t budget;                 // values left to produce
  std::vector<YAML::Node> path;  // the nodes being converted, outermost first

  Status TooBig() const {
    return Status::InvalidArgument(where + ": the document expands to too many values " +
                                   "(aliases repeated to build a YAML bomb?)");
  }

  Result<Json> Convert(const YAML::Node& n) {
    if (budget == 0) return TooBig();
    --budget;
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        if (n.Tag() == "!") return Json(n.Scalar());  // quoted
        return PlainScalar(n.Scalar());
      case YAML::NodeType::Sequence:
      case YAML::NodeType::Map:
        break;
    }
    for (const auto& outer : path) {
      if (outer.is(n)) {
        return Status::InvalidArgument(where + " line " + std::to_string(n.Mark().line + 1) +
                                       ": an alias refers to a node that contains it (a " +
                                       "recursive alias)");
      }
    }
    if (path.size() >= kMaxYamlDepth) {
      return Status::InvalidArgument(where + " line " + std::to_string(n.Mark().line + 1) +
                                     ": nests deeper than " + std::to_string(kMaxYamlDepth) +
                                     " levels");
    }
    path.push_back(n);
    auto out = n.IsSequence() ? ConvertSequence(n) : ConvertMap(n);
    path.pop_back();
    return out;
  }

  Result<Json> ConvertSequence(const YAML::Node& n) {
    Json arr = Json::array();
    for (const auto& e : n) {
      ABS_ASSIGN_OR_RETURN(Json v, Convert(e));
      arr.push_back(std::move(v));
    }
    return arr;
  }

  Result<Json> ConvertMap(const YAML::Node& n) {
    Json obj = Json::object();
    // ordered_json finds keys by a linear search: appending to its storage directly, with
    // duplicates caught by a hash set, keeps a map of n entries O(n) rather than O(n^2).
    auto& entries = static_cast<std::vector<std::pair<const std::string, Json>>&>(
        obj.get_ref<Json::object_t&>());
    std::unordered_set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        return Status::InvalidArgument(where + " line " + std::to_string(kv.first.Mark().line + 1) +
                                       ": map keys must be plain strings");
      }
      std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        return Status::InvalidArgument(where + " line " + std::to_string(kv.first.Mark().line + 1) +
                                       ": duplicate key '" + ShortValue(key) + "'");
      }
      ABS_ASSIGN_OR_RETURN(Json v, Convert(kv.second));
      entries.emplace_back(std::move(key), std::move(v));
    }
    return obj;
  }
};

Result<Json> NodeToJson(const YAML::Node& n, const std::string& where, size_t source_bytes) {
  // A document without aliases produces at most a value per few bytes; the budget leaves
  // room for honest aliases and stops bombs long before they exhaust memory.
  YamlConversion conversion{where, 100000 + 4 * source_bytes, {}};
  return conversion.Convert(n);
}

void EmitJson(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        EmitJson(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& e : j)
        EmitJson(out, e);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      std::string s = j.get<std::string>();
      // Quote what would otherwise read back as another type.
      if (!PlainScalar(s).is_string() || s.empty()) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case Json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      out << YAML::Null;
      break;
    case Json::value_t::number_float:
      out << j.get<double>();
      break;
    default:
      out << j.dump();
      break;
  }
}

}  // namespace

// The byte offset of the first invalid UTF-8 sequence, or npos.
static size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return i;
    }
    if (n == 2 && c < 0xC2) return i;  // overlong
    i += n;
  }
  return std::string_view::npos;
}

Result<Json> YamlToJson(std::string_view yaml, const std::string& source_name) {
  if (size_t bad = InvalidUtf8At(yaml); bad != std::string_view::npos) {
    return Status::InvalidArgument(source_name + ": not valid UTF-8 at byte " +
                                   std::to_string(bad));
  }
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return NodeToJson(root, source_name, yaml.size());
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source_name + " line " + std::to_string(e.mark.line + 1) +
                                   " column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

std::string JsonToYaml(const Json& document) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitJson(out, document);
  return std::string(out.c_str()) + "\n";
}

size_t JsonNestingDepth(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace absvc::service
