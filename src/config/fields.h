// Reading one object of the configuration (or of a request body) field by field: typed
// getters that record each problem with its path ("storage.s3.s3-storage.bucket: ..."),
// secrets resolved where they live, and the fields nobody asked for reported as unknown.
// The section parsers (config.cc) are built on it.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/secret_agent.h"
#include "common/secret_value.h"
#include "config/config.h"

namespace absvc::service::config_fields {

using Errors = std::vector<std::string>;

// What Secret Agent references resolve against while a document is parsed: the configured
// agents and how a secret is fetched. Set by ParseConfig for the duration of one parse on
// its thread; null elsewhere (references are then refused).
struct SecretScope {
  const std::map<std::string, SecretAgentConfig>* agents = nullptr;
  const SecretFetcher* fetch = nullptr;
};
inline thread_local const SecretScope* secret_scope = nullptr;

// Makes `scope` the thread's for its lifetime.
class SecretScopeGuard {
 public:
  explicit SecretScopeGuard(const SecretScope* scope) : previous_(secret_scope) {
    secret_scope = scope;
  }
  ~SecretScopeGuard() { secret_scope = previous_; }
  SecretScopeGuard(const SecretScopeGuard&) = delete;
  SecretScopeGuard& operator=(const SecretScopeGuard&) = delete;

 private:
  const SecretScope* previous_;
};

// Where the parse on this thread records warnings (Config::warnings); null elsewhere.
inline thread_local std::vector<std::string>* warnings = nullptr;

class WarningsGuard {
 public:
  explicit WarningsGuard(std::vector<std::string>* sink) : previous_(warnings) { warnings = sink; }
  ~WarningsGuard() { warnings = previous_; }
  WarningsGuard(const WarningsGuard&) = delete;
  WarningsGuard& operator=(const WarningsGuard&) = delete;

 private:
  std::vector<std::string>* previous_;
};

inline std::string TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

// The longest string any setting may hold.
constexpr size_t kMaxStringBytes = 64 << 10;

// Reads one JSON object field by field, recording errors with their paths; Finish()
// reports the fields nobody asked for.
class Fields {
 public:
  Fields(const Json* j, std::string path, Errors& errors)
      : path_(std::move(path)), errors_(errors) {
    if (j == nullptr || j->is_null()) {
      obj_ = &empty_;
    } else if (!j->is_object()) {
      Error("", "must be an object, got " + TypeName(*j));
      obj_ = &empty_;
    } else {
      obj_ = j;
    }
  }
  ~Fields() = default;

  std::string Path(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  void Error(const std::string& key, const std::string& message) {
    errors_.push_back(Path(key) + ": " + message);
  }

  const Json* Get(const std::string& key, bool required = false) {
    known_.insert(key);
    auto it = obj_->find(key);
    if (it == obj_->end() || it->is_null()) {
      if (required) Error(key, "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> String(const std::string& key, bool required = false) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    if (!j->is_string()) {
      Error(key, "must be a string, got " + TypeName(*j));
      return std::nullopt;
    }
    std::string s = j->get<std::string>();
    if (required && s.empty()) {
      Error(key, "must not be empty");
      return std::nullopt;
    }
    // No setting is longer (a filter expression is the longest); a huge value would be
    // copied into logs, listings and the history.
    if (s.size() > kMaxStringBytes) {
      Error(key, "is " + std::to_string(s.size()) + " bytes long; at most " +
                     std::to_string(kMaxStringBytes) + " are allowed");
      return std::nullopt;
    }
    return s;
  }

  // One of `allowed` (compared case-insensitively); returns the canonical spelling.
  std::optional<std::string> Enum(const std::string& key, const std::vector<std::string>& allowed,
                                  bool required = false) {
    auto s = String(key, required);
    if (!s) return std::nullopt;
    // Surrounding blanks are not part of the value (ABS trims them too).
    s->erase(0, s->find_first_not_of(" \t"));
    s->erase(s->find_last_not_of(" \t") + 1);
    for (const auto& a : allowed) {
      if (a.size() == s->size() && std::equal(a.begin(), a.end(), s->begin(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
          })) {
        return a;
      }
    }
    std::string list;
    for (const auto& a : allowed)
      list += (list.empty() ? "" : ", ") + a;
    Error(key, "must be one of " + list + ", got '" + ShortValue(*s) + "'");
    return std::nullopt;
  }

  std::optional<int64_t> Int(const std::string& key, int64_t min, int64_t max,
                             bool required = false) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    int64_t v;
    // 2^63 as a double: a float at or beyond it (or below -2^63) has no int64 value, and
    // converting it would be undefined; an unsigned above INT64_MAX is out of any range.
    constexpr double kTwo63 = 9223372036854775808.0;
    if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                     std::to_string(j->get<uint64_t>()));
      return std::nullopt;
    } else if (j->is_number_integer()) {
      v = j->get<int64_t>();
    } else if (j->is_number_float() && std::trunc(j->get<double>()) == j->get<double>()) {
      double d = j->get<double>();
      if (!(d >= -kTwo63 && d < kTwo63)) {
        Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                       ShortValue(j->dump()));
        return std::nullopt;
      }
      v = static_cast<int64_t>(d);
    } else {
      Error(key, "must be an integer, got " + TypeName(*j));
      return std::nullopt;
    }
    if (v < min || v > max) {
      Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                     std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> Number(const std::string& key, double min, double max) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_number()) {
      Error(key, "must be a number, got " + TypeName(*j));
      return std::nullopt;
    }
    double v = j->get<double>();
    if (!(v >= min && v <= max)) {
      Error(key, "must be within " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> Bool(const std::string& key) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_boolean()) {
      Error(key, "must be true or false, got " + TypeName(*j));
      return std::nullopt;
    }
    return j->get<bool>();
  }

  std::optional<std::vector<std::string>> Strings(const std::string& key, bool required = false,
                                                  bool unique = true) {
    const Json* j = Get(key, required);
    if (!j) return std::nullopt;
    if (!j->is_array()) {
      Error(key, "must be a list of strings, got " + TypeName(*j));
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;  // linear in the list's length, however long
    for (size_t i = 0; i < j->size(); ++i) {
      const Json& e = (*j)[i];
      if (!e.is_string() || e.get<std::string>().empty()) {
        Error(key, "entry " + std::to_string(i) + " must be a non-empty string");
        return std::nullopt;
      }
      std::string s = e.get<std::string>();
      if (s.size() > kMaxStringBytes) {
        Error(key, "entry " + std::to_string(i) + " is " + std::to_string(s.size()) +
                       " bytes long; at most " + std::to_string(kMaxStringBytes) + " are allowed");
        return std::nullopt;
      }
      if (unique && !seen.insert(s).second) {
        Error(key, "lists '" + ShortValue(s) + "' twice");
        return std::nullopt;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::optional<std::vector<int64_t>> Ints(const std::string& key, int64_t min, int64_t max) {
    const Json* j = Get(key);
    if (!j) return std::nullopt;
    if (!j->is_array()) {
      Error(key, "must be a list of integers, got " + TypeName(*j));
      return std::nullopt;
    }
    std::vector<int64_t> out;
    for (size_t i = 0; i < j->size(); ++i) {
      const Json& e = (*j)[i];
      if (!e.is_number_integer() ||
          (e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
          e.get<int64_t>() < min || e.get<int64_t>() > max) {
        Error(key, "entry " + std::to_string(i) + " must be an integer " + std::to_string(min) +
                       ".." + std::to_string(max));
        return std::nullopt;
      }
      if (std::find(out.begin(), out.end(), e.get<int64_t>()) != out.end()) {
        Error(key, "lists " + std::to_string(e.get<int64_t>()) + " twice");
        return std::nullopt;
      }
      out.push_back(e.get<int64_t>());
    }
    return out;
  }

  // The agent this object's Secret Agent references go to (its secret-agent or
  // secret-agent-name); without one, the only configured agent.
  void UseSecretAgent(const SecretAgentConfig& agent) { agent_ = agent; }
  const std::optional<SecretAgentConfig>& secret_agent() const { return agent_; }
  Errors& errors() { return errors_; }

  // A secret-bearing string: the value, a Secret Agent reference (secrets:<resource>:<key>)
  // fetched now, or one of the forms ResolveSecretValue reads.
  std::optional<std::string> Secret(const std::string& key) {
    auto s = String(key);
    if (s && client::IsSecretRef(*s)) return FromSecretAgent(key, *s);
    if (!s) return s;
    // file:, env:, env-b64: and b64: name where the secret lives; the document keeps the
    // reference, so saving the configuration never writes the secret itself.
    auto resolved = ResolveSecretValue(*s, Path(key));
    if (!resolved.ok()) {
      errors_.push_back(resolved.status().message());
      return std::nullopt;
    }
    return *resolved;
  }

  void Finish() {
    for (auto it = obj_->begin(); it != obj_->end(); ++it) {
      if (!known_.count(it.key())) Error(it.key(), "unknown field");
    }
  }

  // Fetches the secret `reference` names from this object's agent; errors name the field,
  // the agent and the reference, never a secret.
  std::optional<std::string> FromSecretAgent(const std::string& key, const std::string& reference) {
    auto ref = client::ParseSecretRef(reference);
    if (!ref.ok()) {
      Error(key, ref.status().message());
      return std::nullopt;
    }
    const SecretScope* scope = secret_scope;
    const SecretAgentConfig* agent = agent_ ? &*agent_ : nullptr;
    size_t configured = scope && scope->agents ? scope->agents->size() : 0;
    if (!agent && configured == 1) agent = &scope->agents->begin()->second;
    if (!agent) {
      Error(key, configured == 0
                     ? "is a Secret Agent reference, and no secret-agents are configured"
                     : "is a Secret Agent reference: say which of the " +
                           std::to_string(configured) +
                           " secret-agents holds it with secret-agent-name");
      return std::nullopt;
    }
    if (!scope || !scope->fetch || !*scope->fetch) {
      Error(key, "Secret Agent references are not resolved here");
      return std::nullopt;
    }
    auto secret = (*scope->fetch)(*agent, *ref);
    if (!secret.ok()) {
      Error(key, secret.status().message());
      return std::nullopt;
    }
    return *secret;
  }

 private:
  std::optional<SecretAgentConfig> agent_;
  const Json* obj_;
  Json empty_ = Json::object();
  std::string path_;
  Errors& errors_;
  std::set<std::string> known_;
};

template <typename T>
void Assign(T& field, const std::optional<T>& v) {
  if (v) field = *v;
}

}  // namespace absvc::service::config_fields
