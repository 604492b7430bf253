#include "config/edits.h"

#include <map>

namespace absvc::service {
namespace {

// API section names to the document's keys.
const std::map<std::string, std::string> kSections = {{"clusters", "aerospike-clusters"},
                                                      {"storage", "storage"},
                                                      {"policies", "backup-policies"},
                                                      {"routines", "backup-routines"}};

// Which routine field refers to entries of a section.
const std::map<std::string, std::string> kReferences = {
    {"clusters", "source-cluster"}, {"storage", "storage"}, {"policies", "backup-policy"}};

Status NoSuchEntry(const std::string& section, const std::string& name) {
  return Status::NotFound(section + " entry '" + name + "' does not exist");
}

bool Has(const Json& doc, const std::string& key, const std::string& name) {
  return doc.contains(key) && doc[key].is_object() && doc[key].contains(name);
}

Status Upsert(Json& doc, const std::string& section, const std::string& name, const Json& body,
              bool create) {
  if (!IsConfigSection(section)) return Status::NotFound("no config section '" + section + "'");
  Status valid = ValidateEntityName(name);
  if (!valid.ok()) return Status::InvalidArgument(valid.message());
  const std::string key = kSections.at(section);
  if (!doc.contains(key) || !doc[key].is_object()) doc[key] = Json::object();
  const bool exists = doc[key].contains(name);
  if (create && exists) return Status::Conflict(section + " entry '" + name + "' already exists");
  if (!create && !exists) return NoSuchEntry(section, name);
  doc[key][name] = exists ? KeepStoredSecrets(body, doc[key][name]) : body;
  return Status::Ok();
}

}  // namespace

bool IsConfigSection(const std::string& section) {
  return kSections.count(section) > 0;
}

Json ShownConfig(const Json& document, bool redact) {
  return redact ? RedactSecrets(document) : document;
}

Json ConfigSection(const Json& document, const std::string& section, bool redact) {
  Json doc = ShownConfig(document, redact);
  auto key = kSections.find(section);
  if (key == kSections.end()) return Json::object();
  return doc.contains(key->second) && !doc[key->second].is_null() ? doc[key->second]
                                                                  : Json::object();
}

Result<Json> ConfigEntry(const Json& document, const std::string& section, const std::string& name,
                         bool redact) {
  Json doc = ShownConfig(document, redact);
  auto key = kSections.find(section);
  if (key == kSections.end() || !Has(doc, key->second, name)) return NoSuchEntry(section, name);
  return doc[key->second][name];
}

Status CreateConfigEntry(Json& document, const std::string& section, const std::string& name,
                         const Json& body) {
  return Upsert(document, section, name, body, true);
}

Status ReplaceConfigEntry(Json& document, const std::string& section, const std::string& name,
                          const Json& body) {
  return Upsert(document, section, name, body, false);
}

Status DeleteConfigEntry(Json& doc, const std::string& section, const std::string& name) {
  auto key = kSections.find(section);
  if (key == kSections.end() || !Has(doc, key->second, name)) return NoSuchEntry(section, name);
  auto ref = kReferences.find(section);
  if (ref != kReferences.end() && doc.contains("backup-routines") &&
      doc["backup-routines"].is_object()) {
    for (auto it = doc["backup-routines"].begin(); it != doc["backup-routines"].end(); ++it) {
      const Json& r = it.value();
      if (r.is_object() && r.contains(ref->second) && r[ref->second] == name) {
        return Status::Conflict(section + " entry '" + name + "' is used by routine '" + it.key() +
                                "'");
      }
    }
  }
  doc[key->second].erase(name);
  return Status::Ok();
}

Status SetRoutineDisabled(Json& doc, const std::string& routine, bool disabled) {
  if (!Has(doc, "backup-routines", routine) || !doc["backup-routines"][routine].is_object()) {
    return Status::NotFound("routine '" + routine + "' does not exist");
  }
  doc["backup-routines"][routine]["disabled"] = disabled;
  return Status::Ok();
}

}  // namespace absvc::service
