// Objects in memory, for unit tests and as the backend under the wrappers' tests. Stores
// are named: every open of one name, in this process, sees the same objects.
#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace absvc::storage {

Result<std::unique_ptr<Storage>> OpenMemoryStorage(const std::string& name);

}  // namespace absvc::storage
