// One HTTP request to a storage service or token endpoint, over libcurl. Transport
// failures (connect, reset, a server that stops answering) come back as kNetwork or
// kTimeout, which the retry wrapper retries; any HTTP status comes back as a response for
// the backend to judge. Redirects are not followed: a storage answer that redirects is a
// misconfiguration (a wrong region or endpoint) to report, not to chase.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"

namespace absvc::storage::cloud {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // already encoded
  Headers headers;
  std::string_view body;  // sent as is, with its Content-Length
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds connect_timeout{10000};
  // Answers are kept in memory up to this size; a longer one fails the request (an
  // oversized listing or error page), unless on_body streams it.
  size_t max_response_bytes = 64 << 20;
  // Streams a successful (2xx) body instead of keeping it; return false to stop.
  std::function<bool(std::string_view)> on_body;
  // Cancelled (by another thread) to abandon the request: it ends within about a second,
  // as kCancelled, wherever it is (connecting, sending, waiting, receiving).
  std::shared_ptr<const CancelLink> cancel;
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  // The first value of a header (name in lower case), or "".
  std::string Header(std::string_view name) const;
};

Result<HttpResponse> SendHttp(const HttpRequest& request);

// "scheme://host[:port]" of a URL, for messages that must not quote a signed query.
std::string UrlOrigin(const std::string& url);

// For a 3xx answer: " (a redirect to <origin>, not followed: check the endpoint)". Storage
// clients never follow redirects: a redirect loop cannot hold them, and a signed request
// is never replayed to another host.
std::string RedirectNote(const HttpResponse& response);

}  // namespace absvc::storage::cloud
