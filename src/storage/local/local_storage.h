// Local disk: objects are files (0600) under a root directory (0700), written through a
// temporary name and renamed into place on Close.
#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace absvc::storage {

Result<std::unique_ptr<Storage>> OpenLocalStorage(const std::string& root);

}  // namespace absvc::storage
