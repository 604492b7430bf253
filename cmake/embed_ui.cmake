# Writes OUT: the files of UI_DIR named in UI_FILES (comma-separated) as byte arrays, found by
# absvc::service::FindUiAsset (src/http/ui_assets.h). Run at build time, so an edit
# under ui/ rebuilds absd without reconfiguring.
set(entries "")
set(arrays "")
set(index 0)
string(REPLACE "," ";" UI_FILES "${UI_FILES}")
foreach(name IN LISTS UI_FILES)
  file(READ "${UI_DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "ui/${name}: no content type for this kind of file")
  endif()
  string(APPEND arrays "const unsigned char kAsset${index}[] = {${bytes}0};\n")
  string(APPEND entries
    "    {\"${name}\", \"${type}\", {reinterpret_cast<const char*>(kAsset${index}), ${size}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUT}" "// Generated from ui/ by cmake/embed_ui.cmake; do not edit.
#include \"http/ui_assets.h\"

namespace absvc::service {
namespace {
${arrays}
const EmbeddedFile kAssets[] = {
${entries}};
}  // namespace

const EmbeddedFile* FindUiAsset(std::string_view name) { return FindEmbeddedFile(kAssets, name); }

}  // namespace absvc::service
")
