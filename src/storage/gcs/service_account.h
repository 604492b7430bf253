// Google service-account credentials: the JSON key (from key-file-path, an inline `key`,
// or GOOGLE_APPLICATION_CREDENTIALS), the RS256-signed JWT it makes, and the OAuth2
// access token that JWT is traded for at the key's token_uri, kept until five minutes
// before it expires. Without a key, the metadata server's token is used (GCE, GKE).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"

namespace absvc::storage::gcs {

struct ServiceAccountKey {
  std::string client_email, private_key_pem, token_uri;
};

// A service-account key file's JSON; `what` names it in errors.
Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& json, const std::string& what);

// header.claims.signature, base64url, RS256 with the key's private key.
Result<std::string> SignedJwt(const ServiceAccountKey& key, const std::string& scope,
                              int64_t now_unix);

std::string Base64Url(std::string_view bytes);

class TokenSource {
 public:
  // `key_json` empty: the metadata server (GCE_METADATA_HOST overrides its address).
  TokenSource(std::string key_json, std::string what);
  Result<std::string> Token();
  void Invalidate();

 private:
  Result<std::string> Fetch(int64_t* expires_unix);
  std::string key_json_, what_;
  std::mutex mu_;
  std::string token_;
  int64_t expires_unix_ = 0;
};

}  // namespace absvc::storage::gcs
