#include "storage/cloud/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace absvc::storage::cloud {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One handle per thread: libcurl keeps its connections alive between requests.
CURL* ThreadHandle() {
  struct Handle {
    CURL* curl = nullptr;
    ~Handle() {
      if (curl) curl_easy_cleanup(curl);
    }
  };
  thread_local Handle handle;
  if (!handle.curl) handle.curl = curl_easy_init();
  return handle.curl;
}

struct Exchange {
  const HttpRequest* request;
  HttpResponse* response;
  size_t sent = 0;
  bool too_large = false, stopped = false;
  long status = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    x->response->headers.clear();  // a new status line (after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  if (x->response->headers.size() < 200) x->response->headers.push_back({name, std::string(value)});
  // A body of known length is kept in one allocation of that size, not grown by doubling
  // (a ranged read's 8 MiB would otherwise cost up to 24 MiB while it arrives).
  if (name == "content-length" && !x->request->on_body) {
    uint64_t length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    if (length <= x->request->max_response_bytes) x->response->body.reserve(length);
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  if (x->status == 0) curl_easy_getinfo(ThreadHandle(), CURLINFO_RESPONSE_CODE, &x->status);
  if (x->request->on_body && x->status >= 200 && x->status < 300) {
    if (!x->request->on_body(std::string_view(data, len))) {
      x->stopped = true;
      return 0;
    }
    return len;
  }
  if (x->response->body.size() + len > x->request->max_response_bytes) {
    x->too_large = true;
    return 0;
  }
  x->response->body.append(data, len);
  return len;
}

size_t OnUpload(char* buffer, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = std::min(size * n, x->request->body.size() - x->sent);
  std::memcpy(buffer, x->request->body.data() + x->sent, len);
  x->sent += len;
  return len;
}

// libcurl calls this at least once a second while a transfer runs; non-zero aborts it.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* x = static_cast<Exchange*>(user);
  return x->request->cancel && x->request->cancel->cancelled() ? 1 : 0;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

std::string UrlOrigin(const std::string& url) {
  size_t scheme = url.find("://");
  size_t end = url.find_first_of("/?", scheme == std::string::npos ? 0 : scheme + 3);
  return url.substr(0, end);
}

std::string RedirectNote(const HttpResponse& response) {
  std::string to = response.Header("location");
  std::string where = to.empty() ? "nowhere" : UrlOrigin(to);
  if (where.size() > 200) where = where.substr(0, 200) + "...";
  return " (a redirect to " + where + ", not followed: check the endpoint)";
}

Result<HttpResponse> SendHttp(const HttpRequest& request) {
  GlobalInit();
  CURL* curl = ThreadHandle();
  if (!curl) return Status::Internal("cannot start an HTTP client (libcurl)");
  curl_easy_reset(curl);
  HttpResponse response;
  Exchange x{&request, &response};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  // An endpoint with a private CA (MinIO, Azure Stack, a proxy): the CA file named the way
  // curl and OpenSSL name it.
  for (const char* var : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    const char* ca = std::getenv(var);
    if (ca != nullptr && *ca != '\0') {
      curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
      break;
    }
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  // A server that stops sending mid-answer is given up on after 30 s of silence.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  if (request.cancel) {
    if (request.cancel->cancelled())
      return Status::Cancelled(request.method + " " + UrlOrigin(request.url) + ": cancelled");
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  bool has_body = !request.body.empty() || request.method == "PUT" || request.method == "POST";
  if (has_body) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &x);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& [k, v] : request.headers)
    list = curl_slist_append(list, (k + ": " + v).c_str());
  // No "Expect: 100-continue" round trip, and no default content type.
  list = curl_slist_append(list, "Expect:");
  if (has_body && !std::any_of(request.headers.begin(), request.headers.end(), [](const auto& h) {
        return strcasecmp(h.first.c_str(), "Content-Type") == 0;
      })) {
    list = curl_slist_append(list, "Content-Type:");
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  const std::string where = request.method + " " + UrlOrigin(request.url);
  if (x.too_large) {
    return Status::Corrupt(where + ": the answer is larger than " +
                           std::to_string(request.max_response_bytes) + " bytes");
  }
  if (x.stopped) return Status::Cancelled(where + ": stopped reading the answer");
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Cancelled(where + ": cancelled");
  if (rc != CURLE_OK) {
    std::string why = curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) return Status::Timeout(where + ": " + why);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return Status::InvalidArgument(where + ": " + why);
    }
    return Status::Network(where + ": " + why);
  }
  return response;
}

}  // namespace absvc::storage::cloud
