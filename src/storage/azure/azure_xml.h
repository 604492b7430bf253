// The Blob service's XML answers abs reads: a List Blobs page and an error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::storage::azure {

struct BlobEntry {
  std::string name;
  uint64_t size = 0;
};

struct BlobPage {
  std::vector<BlobEntry> blobs;
  std::string next_marker;  // "" on the last page
};

Result<BlobPage> ParseListBlobs(const std::string& xml, const std::string& what);

struct AzureError {
  std::string code, message;
};
// What can be read of an error answer (the body, else the x-ms-error-code header).
AzureError ParseAzureError(const std::string& xml, const std::string& header_code);

}  // namespace absvc::storage::azure
