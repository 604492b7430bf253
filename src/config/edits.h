// Edits of a configuration document by entry, as the REST API offers them: the sections
// by their API names, an entry shown with its secrets redacted, created, replaced
// (secrets sent back redacted keep their stored values), deleted unless a routine refers
// to it, and a routine enabled or disabled. These change a document only; the service
// validates, persists and applies the result (Service::EditConfig), or nothing changes.
#pragma once

#include <string>

#include "common/status.h"
#include "config/config.h"

namespace absvc::service {

// "clusters", "storage", "policies" or "routines".
bool IsConfigSection(const std::string& section);

// The document as GET /v1/config shows it: secrets redacted or as written, as
// service.config-secrets says.
Json ShownConfig(const Json& document, bool redact);
// The whole section, shown as ShownConfig ({} when it has none).
Json ConfigSection(const Json& document, const std::string& section, bool redact);
// One entry, shown as ShownConfig; kNotFound when it does not exist.
Result<Json> ConfigEntry(const Json& document, const std::string& section, const std::string& name,
                         bool redact);
// kConflict when it exists already; the name must be one path segment.
Status CreateConfigEntry(Json& document, const std::string& section, const std::string& name,
                         const Json& body);
// kNotFound when it does not exist.
Status ReplaceConfigEntry(Json& document, const std::string& section, const std::string& name,
                          const Json& body);
// kNotFound when it does not exist; kConflict naming the routine that refers to it.
Status DeleteConfigEntry(Json& document, const std::string& section, const std::string& name);
// kNotFound when the routine does not exist.
Status SetRoutineDisabled(Json& document, const std::string& routine, bool disabled);

}  // namespace absvc::service
