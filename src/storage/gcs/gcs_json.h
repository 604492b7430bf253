// The JSON answers of the GCS JSON API abs reads: a page of an object listing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::storage::gcs {

struct ListedObject {
  std::string name;
  uint64_t size = 0;
};

struct ObjectPage {
  std::vector<ListedObject> objects;
  std::string next_page_token;  // "" on the last page
};

Result<ObjectPage> ParseObjectList(const std::string& json, const std::string& what);

}  // namespace absvc::storage::gcs
