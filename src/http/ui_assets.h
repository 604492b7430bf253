// Files absd serves from its own binary, so that its pages work offline and a package
// needs no data directory: the dashboard (ui/, embedded by cmake/embed_ui.cmake) and the
// API page (api_docs_assets.h).
#pragma once

#include <span>
#include <string_view>

namespace absvc::service {

struct EmbeddedFile {
  std::string_view name;  // "index.html"
  std::string_view content_type;
  std::string_view body;
};

// The file of `files` named `name`; nullptr when there is none.
inline const EmbeddedFile* FindEmbeddedFile(std::span<const EmbeddedFile> files,
                                            std::string_view name) {
  for (const auto& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The dashboard's file; nullptr when it has none of that name.
const EmbeddedFile* FindUiAsset(std::string_view name);

}  // namespace absvc::service
