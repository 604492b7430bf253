// The /api-docs/ page: Swagger UI (npm swagger-ui-dist, pinned by package-lock.json and
// compiled into absd by cmake/embed_files.cmake) around the OpenAPI document absd serves,
// so the page works offline. index.html and api-docs.js are abs's own (ui/api-docs/).
#pragma once

#include <string_view>

#include "http/ui_assets.h"

namespace absvc::service {

// nullptr when the page has no such file.
const EmbeddedFile* FindApiDocsFile(std::string_view name);

}  // namespace absvc::service
