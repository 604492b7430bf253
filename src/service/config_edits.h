// Edits of the configuration by entry, as the REST API (and a future UI) offers them:
// the sections by their API names, an entry shown with its secrets redacted, created,
// replaced (secrets sent back redacted keep their values), deleted unless a routine uses
// it, and a routine enabled or disabled. Every edit is validated, persisted and applied
// by the service, or nothing changes.
#pragma once

#include <string>

#include "common/status.h"
#include "config/config.h"
#include "service/service.h"

namespace absvc::service {

// "clusters", "storage", "policies" or "routines".
bool IsConfigSection(const std::string& section);

// The whole section, redacted ({} when it has none).
Json ConfigSection(const Service& service, const std::string& section);
// One entry, redacted; kNotFound when it does not exist.
Result<Json> ConfigEntry(const Service& service, const std::string& section,
                         const std::string& name);
// kConflict when it exists already; the name must be one path segment.
Status CreateConfigEntry(Service& service, const std::string& section, const std::string& name,
                         const Json& body);
// kNotFound when it does not exist.
Status ReplaceConfigEntry(Service& service, const std::string& section, const std::string& name,
                          const Json& body);
// kNotFound when it does not exist; kConflict naming the routine that uses it.
Status DeleteConfigEntry(Service& service, const std::string& section, const std::string& name);
Status SetRoutineDisabled(Service& service, const std::string& routine, bool disabled);

}  // namespace absvc::service
