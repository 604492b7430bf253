#include "storage/gcs/service_account.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/text.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/uri.h"

namespace absvc::storage::gcs {
namespace {

constexpr const char* kScope = "https://www.googleapis.com/auth/devstorage.read_write";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string Base64Url(std::string_view bytes) {
  std::string b = Base64Encode(bytes);
  for (char& c : b) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b.empty() && b.back() == '=')
    b.pop_back();
  return b;
}

Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& json, const std::string& what) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return Status::InvalidArgument(what + " is not a JSON object");
  auto field = [&](const char* name) -> std::string {
    return j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : "";
  };
  if (field("type") != "service_account") {
    return Status::InvalidArgument(what + ": type is '" + ShortValue(field("type")) +
                                   "', not service_account");
  }
  ServiceAccountKey key{field("client_email"), field("private_key"), field("token_uri")};
  if (key.client_email.empty() || key.private_key_pem.empty()) {
    return Status::InvalidArgument(what + ": client_email or private_key is missing");
  }
  if (key.token_uri.empty()) key.token_uri = "https://oauth2.googleapis.com/token";
  return key;
}

Result<std::string> SignedJwt(const ServiceAccountKey& key, const std::string& scope,
                              int64_t now_unix) {
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  nlohmann::json claims = {{"iss", key.client_email},
                           {"scope", scope},
                           {"aud", key.token_uri},
                           {"iat", now_unix},
                           {"exp", now_unix + 3600}};
  std::string input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key.private_key_pem.data(), static_cast<int>(key.private_key_pem.size())),
      BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!pkey) return Status::InvalidArgument("the service account's private_key is not a PEM key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return Status::InvalidArgument("the service account's private_key cannot sign (RS256)");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return Status::Internal("RS256 signing failed");
  }
  sig.resize(len);
  return input + "." + Base64Url(sig);
}

TokenSource::TokenSource(std::string key_json, std::string what)
    : key_json_(std::move(key_json)), what_(std::move(what)) {}

void TokenSource::Invalidate() {
  std::lock_guard lock(mu_);
  token_.clear();
}

Result<std::string> TokenSource::Token() {
  std::lock_guard lock(mu_);
  if (!token_.empty() && UnixNow() < expires_unix_ - 300) return token_;
  int64_t expires = 0;
  auto fresh = Fetch(&expires);
  if (!fresh.ok()) {
    // Refreshing early failed: the token in hand works until it expires.
    if (!token_.empty() && UnixNow() < expires_unix_) return token_;
    return fresh.status();
  }
  token_ = std::move(fresh).value();
  expires_unix_ = expires;
  return token_;
}

Result<std::string> TokenSource::Fetch(int64_t* expires_unix) {
  cloud::HttpRequest req;
  req.timeout = std::chrono::seconds(30);
  req.max_response_bytes = 1 << 20;
  std::string body;
  if (!key_json_.empty()) {
    ABS_ASSIGN_OR_RETURN(ServiceAccountKey key, ParseServiceAccountKey(key_json_, what_));
    ABS_ASSIGN_OR_RETURN(std::string jwt, SignedJwt(key, kScope, UnixNow()));
    body = "grant_type=" + cloud::UriEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
           "&assertion=" + jwt;
    req.method = "POST";
    req.url = key.token_uri;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = body;
  } else {
    const char* host = std::getenv("GCE_METADATA_HOST");
    req.url = std::string("http://") + (host && *host ? host : "169.254.169.254") +
              "/computeMetadata/v1/instance/service-accounts/default/token";
    req.headers = {{"Metadata-Flavor", "Google"}};
    req.connect_timeout = std::chrono::seconds(2);
  }
  auto res = cloud::SendHttp(req);
  if (!res.ok()) return res.status().WithContext("OAuth token for " + what_);
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200 || !j.is_object() || !j.contains("access_token") ||
      !j["access_token"].is_string()) {
    std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : "an unreadable answer";
    return Status(res->status >= 500 ? StatusCode::kUnavailable : StatusCode::kIo,
                  "OAuth token for " + what_ + " from " + cloud::UrlOrigin(req.url) + ": HTTP " +
                      std::to_string(res->status) + " " + ShortValue(why));
  }
  int64_t lifetime = j.contains("expires_in") && j["expires_in"].is_number_integer()
                         ? j["expires_in"].get<int64_t>()
                         : 3600;
  // A token server's lifetime is outside input: keep it to a sane span so that adding it
  // to the clock cannot overflow.
  lifetime = std::clamp<int64_t>(lifetime, 0, 7 * 86400);
  *expires_unix = UnixNow() + lifetime;
  return j["access_token"].get<std::string>();
}

}  // namespace absvc::storage::gcs
