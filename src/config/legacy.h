// Documents written for earlier ABS releases, read with the meaning ABS gave them. ABS 2.x
// (and early 3.x) spelled some settings differently or kept them where 3.x no longer
// does; a file or request ABS itself ran must not be refused for that. Each such setting
// is rewritten to its current form with one warning that names the replacement; where no
// current form has the same meaning, the error says what to write instead. Nothing is
// dropped silently. The document as written is left untouched (GET /v1/config returns it).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace absvc::service {

struct LegacyReading {
  std::vector<std::string> warnings;  // "<path>: <what was read as what>"
  std::vector<std::string> errors;    // settings with no current meaning, or given twice
};

// The configuration document with ABS 2.x settings rewritten to their 3.x form.
Json UpgradeLegacyConfig(const Json& document, LegacyReading& reading);

// A restore request body (full, incremental or timestamp) with ABS 2.x fields rewritten.
Json UpgradeLegacyRestoreRequest(const Json& body, LegacyReading& reading);

}  // namespace absvc::service
