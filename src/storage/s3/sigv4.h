// AWS Signature Version 4 for request headers: the canonical request, the string to
// sign, and the Authorization header, as AWS's signing test suite specifies them. S3
// signs its paths unnormalized (object keys may hold "//" or "..") and says so with
// `normalize_path = false`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace absvc::storage::s3 {

struct AwsCredentials {
  std::string access_key_id, secret_access_key, session_token;
};

struct SignedRequestParts {
  std::string method;
  std::string path;  // decoded ("/bucket/my key"); encoded once for the wire and the signature
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // as sent; Host among them
  std::string payload_sha256_hex;                            // of the body, or "UNSIGNED-PAYLOAD"
};

struct SigningOptions {
  std::string region, service;
  int64_t unix_seconds = 0;
  bool normalize_path = true;
  bool add_content_sha256_header = false;  // x-amz-content-sha256, which S3 requires
  bool omit_session_token = false;         // sign without it, then add it (STS style)
};

struct Signature {
  std::string canonical_request, string_to_sign, signature_hex, authorization;
  // Headers the caller must send beside its own: X-Amz-Date, and as configured
  // X-Amz-Security-Token and X-Amz-Content-Sha256.
  std::vector<std::pair<std::string, std::string>> added_headers;
  std::string encoded_path;   // the path as it goes on the wire
  std::string encoded_query;  // canonical query string, usable on the wire ("" if none)
};

Signature SignV4(const SignedRequestParts& request, const AwsCredentials& credentials,
                 const SigningOptions& options);

// "20150830T123600Z" for a Unix time.
std::string AmzDate(int64_t unix_seconds);

}  // namespace absvc::storage::s3
