// Reading small files named by users (configuration, password and key files): bounded in
// size, regular files only (a directory, FIFO or device is refused rather than read or
// waited on), and every failure says why, in the operating system's words.
#pragma once

#include <string>

#include "common/status.h"

namespace absvc {

// The whole file; kInvalidArgument when it is not a regular file or is larger than
// `max_bytes`, kNotFound when it does not exist, kIo for other failures. `what` names the
// file in messages ("configuration file", "password file").
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes,
                                  const std::string& what);

}  // namespace absvc
