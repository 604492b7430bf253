#include "http/api_docs_assets.h"

// The files' bytes, in the order CMakeLists.txt lists them (abs_embed_files).
#define ABS_API_DOCS_FILE(n) \
  extern "C" const char abs_api_docs_##n##_begin[], abs_api_docs_##n##_end[];
ABS_API_DOCS_FILE(0)
ABS_API_DOCS_FILE(1)
ABS_API_DOCS_FILE(2)
ABS_API_DOCS_FILE(3)
ABS_API_DOCS_FILE(4)
#undef ABS_API_DOCS_FILE

namespace absvc::service {
namespace {

std::string_view Bytes(const char* begin, const char* end) {
  return {begin, static_cast<size_t>(end - begin)};
}

const EmbeddedFile kFiles[] = {
    {"index.html", "text/html; charset=utf-8", Bytes(abs_api_docs_0_begin, abs_api_docs_0_end)},
    {"api-docs.js", "text/javascript; charset=utf-8",
     Bytes(abs_api_docs_1_begin, abs_api_docs_1_end)},
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8",
     Bytes(abs_api_docs_2_begin, abs_api_docs_2_end)},
    {"swagger-ui.css", "text/css; charset=utf-8", Bytes(abs_api_docs_3_begin, abs_api_docs_3_end)},
    // Swagger UI's license (Apache-2.0), served with the code it covers.
    {"LICENSE", "text/plain; charset=utf-8", Bytes(abs_api_docs_4_begin, abs_api_docs_4_end)},
};

}  // namespace

const EmbeddedFile* FindApiDocsFile(std::string_view name) {
  return FindEmbeddedFile(kFiles, name);
}

}  // namespace absvc::service
