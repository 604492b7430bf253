// Percent-encoding as the cloud signing schemes define it (RFC 3986: letters, digits and
// "-._~" stay; every other byte becomes %XX in upper case).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace absvc::storage::cloud {

// `keep_slash`: '/' stays as is (object keys in a path).
std::string UriEncode(std::string_view s, bool keep_slash = false);
// Strict: a '%' not followed by two hex digits is an error. '+' stays '+'.
std::optional<std::string> UriDecode(std::string_view s);

}  // namespace absvc::storage::cloud
