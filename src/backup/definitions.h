// The backup engine's definitions stage: the namespace's secondary indexes and the
// cluster's UDFs, as the .asb definitions file records them. Internal to the engine.
#pragma once

#include <string>
#include <vector>

#include "asb/asb.h"
#include "client/client.h"
#include "common/status.h"

namespace absvc::backup {

// The namespace's secondary indexes (sindex-list); expression indexes, which .asb 3.1
// cannot hold, are left out.
Result<std::vector<asb::SindexDefinition>> FetchSindexes(client::Client& c, const std::string& ns);
// Every UDF module with its content (udf-list, udf-get).
Result<std::vector<asb::UdfDefinition>> FetchUdfs(client::Client& c);

}  // namespace absvc::backup
