// Checking a JSON value against a schema: the subset of OpenAPI 3.0 / JSON Schema the
// tests' documents use (docs/openapi.yaml, tests/data/abs-contract).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "wire/info.h"

namespace absvc::service::testing_schema {

// A JSON value against an OpenAPI 3.0 schema (the parts docs/openapi.yaml uses: $ref,
// nullable, type, properties, required, additionalProperties, items, enum, oneOf); each problem
// is added to `errors` with its path in the value.
inline void CheckSchema(const Json& schema, const Json& value, const Json& doc,
                        const std::string& at, std::vector<std::string>& errors) {
  if (value.is_null() && schema.value("nullable", false)) return;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"].get<std::string>().substr(2);  // "#/" dropped
    const Json* target = &doc;
    for (auto part : wire::SplitList(ref, '/'))
      target = &(*target)[std::string(part)];
    return CheckSchema(*target, value, doc, at, errors);
  }
  if (schema.contains("oneOf")) {
    int matches = 0;
    for (const auto& option : schema["oneOf"]) {
      std::vector<std::string> e;
      CheckSchema(option, value, doc, at, e);
      matches += e.empty() ? 1 : 0;
    }
    if (matches != 1) errors.push_back(at + ": matches " + std::to_string(matches) + " of oneOf");
    return;
  }
  if (schema.contains("type")) {
    std::string type = schema["type"];
    bool ok = type == "object"    ? value.is_object()
              : type == "array"   ? value.is_array()
              : type == "string"  ? value.is_string()
              : type == "integer" ? value.is_number_integer()
              : type == "number"  ? value.is_number()
              : type == "boolean" ? value.is_boolean()
                                  : false;
    if (!ok) {
      errors.push_back(at + ": is not " + type + ": " + value.dump().substr(0, 80));
      return;
    }
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"])
      found = found || e == value;
    if (!found) errors.push_back(at + ": " + value.dump() + " is not in the enum");
  }
  if (value.is_object()) {
    for (const auto& r : schema.value("required", Json::array())) {
      if (!value.contains(r.get<std::string>())) errors.push_back(at + ": lacks " + r.dump());
    }
    const Json props = schema.value("properties", Json::object());
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (props.contains(it.key())) {
        CheckSchema(props[it.key()], it.value(), doc, at + "." + it.key(), errors);
      } else if (schema.contains("additionalProperties")) {
        const Json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) {
          errors.push_back(at + ": has undocumented field " + it.key());
        } else if (extra.is_object()) {
          CheckSchema(extra, it.value(), doc, at + "." + it.key(), errors);
        }
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i)
      CheckSchema(schema["items"], value[i], doc, at + "[" + std::to_string(i) + "]", errors);
  }
}

}  // namespace absvc::service::testing_schema
