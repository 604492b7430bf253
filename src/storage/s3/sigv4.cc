#include "storage/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include "common/bytes.h"
#include "common/text.h"
#include "storage/cloud/crypto.h"
#include "storage/cloud/uri.h"

namespace absvc::storage::s3 {
namespace {

using cloud::HmacSha256;
using cloud::Sha256Hex;
using cloud::UriEncode;

// RFC 3986 dot-segment removal and doubled-slash collapse, keeping a trailing '/'.
std::string NormalizePath(const std::string& path) {
  std::vector<std::string> segments;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    std::string seg = path.substr(i, slash - i);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    i = slash + 1;
  }
  std::string out;
  for (const auto& s : segments)
    out += "/" + s;
  bool trailing = !path.empty() && (path.back() == '/' || path.ends_with("/.") ||
                                    path.ends_with("/..") || path == "." || path == "..");
  if (out.empty() || trailing) out += "/";
  return out;
}

}  // namespace

std::string AmzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature SignV4(const SignedRequestParts& request, const AwsCredentials& credentials,
                 const SigningOptions& options) {
  Signature out;
  const std::string amz_date = AmzDate(options.unix_seconds);
  const std::string day = amz_date.substr(0, 8);
  out.added_headers.push_back({"X-Amz-Date", amz_date});
  if (options.add_content_sha256_header) {
    out.added_headers.push_back({"X-Amz-Content-Sha256", request.payload_sha256_hex});
  }
  const bool token = !credentials.session_token.empty();
  if (token && !options.omit_session_token) {
    out.added_headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }

  std::string path = request.path.empty() ? "/" : request.path;
  if (options.normalize_path) path = NormalizePath(path);
  out.encoded_path = UriEncode(path, /*keep_slash=*/true);

  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : request.query)
    query.push_back({UriEncode(k), UriEncode(v)});
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i) {
    out.encoded_query += (i ? "&" : "") + query[i].first + "=" + query[i].second;
  }

  // Header names lower-cased and sorted; repeated names joined by ',' in their order.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : request.headers)
    headers.push_back({AsciiLower(k), CollapseWhitespace(v)});
  for (const auto& [k, v] : out.added_headers)
    headers.push_back({AsciiLower(k), CollapseWhitespace(v)});
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';
      canonical_headers += headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + headers[i].first;
  }

  out.canonical_request = request.method + "\n" + out.encoded_path + "\n" + out.encoded_query +
                          "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                          request.payload_sha256_hex;
  const std::string scope = day + "/" + options.region + "/" + options.service + "/aws4_request";
  out.string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(out.canonical_request);
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, day);
  key = HmacSha256(key, options.region);
  key = HmacSha256(key, options.service);
  key = HmacSha256(key, "aws4_request");
  out.signature_hex = HexEncode(HmacSha256(key, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature_hex;
  if (token && options.omit_session_token) {
    out.added_headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  return out;
}

}  // namespace absvc::storage::s3
