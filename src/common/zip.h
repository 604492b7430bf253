// A zip archive of small files, stored without compression (what GET
// /v1/retrieve/configuration returns: a few aerospike.conf texts). Readable by unzip,
// Python's zipfile and every archive tool.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace absvc {

// Files as (name, contents), in order. Names are stored as given (UTF-8).
std::string ZipStored(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace absvc
