// Azure Storage Shared Key signing for the Blob service: the string to sign built from a
// request's method, standard headers, x-ms-* headers and canonicalized resource, and the
// "SharedKey account:signature" Authorization value.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace absvc::storage::azure {

struct SharedKeyRequest {
  std::string method;
  std::string url_path;  // encoded, as sent ("/container/dir/blob" or, path-style,
                         // "/account/container/dir/blob")
  std::vector<std::pair<std::string, std::string>> query;    // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // as sent
  size_t content_length = 0;
};

std::string SharedKeyStringToSign(const SharedKeyRequest& request, const std::string& account);

// The Authorization header value; the key is the account key as Azure shows it (base64).
Result<std::string> SharedKeyAuthorization(const SharedKeyRequest& request,
                                           const std::string& account,
                                           const std::string& base64_key);

// "Mon, 30 Nov 2026 21:30:00 GMT" for x-ms-date.
std::string HttpDate(int64_t unix_seconds);

}  // namespace absvc::storage::azure
