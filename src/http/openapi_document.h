// The OpenAPI 3 document of absd's REST API (docs/openapi.yaml, compiled in by CMake), which
// absd serves at /api-docs.
#pragma once

namespace absvc::service {

const char* OpenApiYaml();

}  // namespace absvc::service
