// Secrets in the configuration document: redacted in what the API shows, and kept when
// a client sends the redaction back.
#include <functional>
#include <set>

#include "config/config.h"

namespace absvc::service {
namespace {

const std::set<std::string> kSecretKeys = {
    "password",    "key-file-password", "secret-access-key", "access-key-id",
    "account-key", "client-secret",     "sas-token",         "key"};

}  // namespace

Json RedactSecrets(const Json& document) {
  Json out = document;
  std::function<void(Json&)> walk = [&](Json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (kSecretKeys.count(it.key()) && it.value().is_string() &&
            !it.value().get<std::string>().empty()) {
          it.value() = kRedacted;
        } else {
          walk(it.value());
        }
      }
    } else if (j.is_array()) {
      for (auto& e : j)
        walk(e);
    }
  };
  walk(out);
  return out;
}

size_t CountInlineSecrets(const Json& document) {
  size_t n = 0;
  std::function<void(const Json&)> walk = [&](const Json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (kSecretKeys.count(it.key()) && it.value().is_string()) {
          const std::string& v = it.value().get_ref<const std::string&>();
          bool reference = false;
          for (const char* prefix : {"file:", "env:", "env-b64:", "secrets:"})
            reference = reference || v.rfind(prefix, 0) == 0;
          n += !v.empty() && !reference;
        } else {
          walk(it.value());
        }
      }
    } else if (j.is_array()) {
      for (const auto& e : j)
        walk(e);
    }
  };
  walk(document);
  return n;
}

Json KeepStoredSecrets(const Json& incoming, const Json& stored) {
  Json out = incoming;
  std::function<void(Json&, const Json*)> walk = [&](Json& j, const Json* old) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        const Json* o =
            (old && old->is_object() && old->contains(it.key())) ? &(*old)[it.key()] : nullptr;
        if (it.value().is_string() && it.value().get<std::string>() == kRedacted) {
          if (o) it.value() = *o;
        } else {
          walk(it.value(), o);
        }
      }
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        const Json* o = (old && old->is_array() && i < old->size()) ? &(*old)[i] : nullptr;
        walk(j[i], o);
      }
    }
  };
  walk(out, &stored);
  return out;
}

}  // namespace absvc::service
