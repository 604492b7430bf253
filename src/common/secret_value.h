// Secrets given where a value is expected (absctl flags, secret fields of the service
// configuration) may name where the secret lives instead, in the forms Aerospike's own
// tools accept, so a key never has to appear on a command line or in a config file.
#pragma once

#include <string>

#include "common/status.h"

namespace absvc {

// `value` is one of:
//   file:PATH     the contents of PATH (at most 64 KiB), less trailing line endings
//   env:VAR       the value of environment variable VAR
//   env-b64:VAR   the base64-decoded value of environment variable VAR
//   b64:TEXT      the base64-decoded TEXT
//   anything else the value itself.
// Errors name `what` (the flag or field) and where the secret was looked for, never the
// secret. An empty file or variable is an error: it is always a mistake.
Result<std::string> ResolveSecretValue(const std::string& value, const std::string& what);

}  // namespace absvc
