// The dashboard's static files (ui/ in the repository), compiled into absd so that the
// page works offline and a package needs no data directory for it.
#pragma once

#include <string_view>

namespace absvc::service {

struct UiAsset {
  std::string_view name;  // "index.html"
  std::string_view content_type;
  std::string_view body;
};

// nullptr when the dashboard has no such file.
const UiAsset* FindUiAsset(std::string_view name);

}  // namespace absvc::service
