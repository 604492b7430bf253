#include "storage/s3/credentials.h"

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/json_fields.h"
#include "common/text.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/uri.h"
#include "storage/s3/s3_xml.h"
#include "storage/storage.h"

namespace absvc::storage::s3 {
namespace {

constexpr int64_t kRefreshEarly = 300;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string HomeFile(const char* env, const char* name) {
  std::string set = Env(env);
  if (!set.empty()) return set;
  std::string home = Env("HOME");
  return home.empty() ? "" : home + "/.aws/" + name;
}

Result<IniSections> ReadIni(const std::string& path) {
  if (path.empty()) return IniSections{};
  auto text = ReadSmallFile(path, 1 << 20, "AWS shared file");
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return IniSections{};
    return text.status();
  }
  return ParseIni(*text, path);
}

}  // namespace

int64_t ParseIsoTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

Result<IniSections> ParseIni(const std::string& text, const std::string& what) {
  IniSections out;
  std::string section;
  bool in_section = false;
  size_t line_no = 0, i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = Trim(text.substr(i, nl - i));
    i = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Status::InvalidArgument(what + " line " + std::to_string(line_no) +
                                       ": a section header without ']'");
      }
      section = Trim(line.substr(1, line.size() - 2));
      in_section = true;
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      // A nested block's lines ("  s3 =" then indented keys) are not credentials: skipped.
      continue;
    }
    if (!in_section) {
      return Status::InvalidArgument(what + " line " + std::to_string(line_no) +
                                     ": a setting before any [section]");
    }
    out[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

CredentialsProvider::CredentialsProvider(const StorageSpec& spec) : spec_(spec) {}

std::string CredentialsProvider::source() const {
  std::lock_guard lock(mu_);
  return source_;
}

void CredentialsProvider::Invalidate() {
  std::lock_guard lock(mu_);
  have_ = false;
}

Result<AwsCredentials> CredentialsProvider::Get(int64_t now_unix) {
  std::lock_guard lock(mu_);
  if (have_ && (expires_unix_ == 0 || now_unix < expires_unix_ - kRefreshEarly)) return cached_;
  int64_t expires = 0;
  auto fresh = Fetch(now_unix, &expires);
  if (!fresh.ok()) {
    // Refreshing early failed: the credentials in hand still work until they expire, and
    // the next request tries again.
    if (have_ && expires_unix_ != 0 && now_unix < expires_unix_) return cached_;
    return fresh.status();
  }
  cached_ = std::move(fresh).value();
  have_ = true;
  expires_unix_ = expires;
  return cached_;
}

std::string CredentialsProvider::ProfileRegion() {
  std::string profile = !spec_.s3_profile.empty() ? spec_.s3_profile : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  auto config = ReadIni(HomeFile("AWS_CONFIG_FILE", "config"));
  if (!config.ok()) return "";
  for (const std::string& name : {"profile " + profile, profile}) {
    auto it = config->find(name);
    if (it != config->end() && it->second.count("region")) return it->second.at("region");
  }
  return "";
}

Result<AwsCredentials> CredentialsProvider::FromProfile(const std::string& profile, bool required) {
  ABS_ASSIGN_OR_RETURN(IniSections creds,
                       ReadIni(HomeFile("AWS_SHARED_CREDENTIALS_FILE", "credentials")));
  ABS_ASSIGN_OR_RETURN(IniSections config, ReadIni(HomeFile("AWS_CONFIG_FILE", "config")));
  for (const auto* sections : {&creds, &config}) {
    for (const std::string& name : {profile, "profile " + profile}) {
      auto it = sections->find(name);
      if (it == sections->end()) continue;
      const auto& kv = it->second;
      if (kv.count("aws_access_key_id") && kv.count("aws_secret_access_key")) {
        AwsCredentials c{kv.at("aws_access_key_id"), kv.at("aws_secret_access_key"), ""};
        if (kv.count("aws_session_token")) c.session_token = kv.at("aws_session_token");
        source_ = "profile " + profile;
        return c;
      }
    }
  }
  if (required) {
    return Status::InvalidArgument("s3-profile '" + profile +
                                   "' has no aws_access_key_id and aws_secret_access_key in the "
                                   "shared credentials or config file");
  }
  return Status::NotFound("no profile " + profile);
}

Result<AwsCredentials> CredentialsProvider::FromWebIdentity(int64_t* expires_unix) {
  std::string token_file = Env("AWS_WEB_IDENTITY_TOKEN_FILE");
  std::string role = Env("AWS_ROLE_ARN");
  if (token_file.empty() || role.empty()) return Status::NotFound("no web identity");
  ABS_ASSIGN_OR_RETURN(std::string token,
                       ReadSmallFile(token_file, 64 << 10, "web identity token file"));
  token = Trim(token);
  std::string session = Env("AWS_ROLE_SESSION_NAME");
  if (session.empty()) session = "abs";
  std::string region = !spec_.s3_region.empty() ? spec_.s3_region : Env("AWS_REGION");
  std::string endpoint = Env("AWS_ENDPOINT_URL_STS");
  if (endpoint.empty()) {
    endpoint =
        region.empty() ? "https://sts.amazonaws.com" : "https://sts." + region + ".amazonaws.com";
  }
  std::string body =
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + cloud::UriEncode(role) +
      "&RoleSessionName=" + cloud::UriEncode(session) +
      "&WebIdentityToken=" + cloud::UriEncode(token);
  cloud::HttpRequest req;
  req.method = "POST";
  req.url = endpoint + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = body;
  req.timeout = std::chrono::seconds(30);
  ABS_ASSIGN_OR_RETURN(auto res, cloud::SendHttp(req));
  if (res.status != 200) {
    auto e = ParseS3Error(res.body);
    Status st(res.status >= 500 ? StatusCode::kUnavailable : StatusCode::kIo,
              "web identity: STS " + cloud::UrlOrigin(req.url) + " answered " +
                  std::to_string(res.status) + " " + e.code + " " + e.message);
    return st;
  }
  ABS_ASSIGN_OR_RETURN(auto sts, ParseAssumeRoleResult(res.body, "STS answer"));
  *expires_unix = std::max<int64_t>(0, ParseIsoTime(sts.expiration));
  source_ = "web identity " + role;
  return AwsCredentials{sts.access_key_id, sts.secret_access_key, sts.session_token};
}

Result<AwsCredentials> CredentialsProvider::FromInstanceMetadata(int64_t* expires_unix) {
  if (Env("AWS_EC2_METADATA_DISABLED") == "true") return Status::NotFound("IMDS disabled");
  std::string endpoint = Env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty()) endpoint = "http://169.254.169.254";
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.pop_back();
  auto send = [](cloud::HttpRequest req) {
    req.timeout = std::chrono::seconds(2);
    req.connect_timeout = std::chrono::seconds(1);
    req.max_response_bytes = 64 << 10;
    return cloud::SendHttp(req);
  };
  cloud::HttpRequest token_req;
  token_req.method = "PUT";
  token_req.url = endpoint + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  ABS_ASSIGN_OR_RETURN(auto token, send(token_req));
  if (token.status != 200) {
    return Status::NotFound("instance metadata: token request answered " +
                            std::to_string(token.status));
  }
  cloud::HttpRequest role_req;
  role_req.url = endpoint + "/latest/meta-data/iam/security-credentials/";
  role_req.headers = {{"X-aws-ec2-metadata-token", token.body}};
  ABS_ASSIGN_OR_RETURN(auto role, send(role_req));
  std::string name = Trim(role.body.substr(0, role.body.find('\n')));
  if (role.status != 200 || name.empty()) {
    return Status::NotFound("instance metadata: no IAM role attached");
  }
  cloud::HttpRequest creds_req = role_req;
  creds_req.url += cloud::UriEncode(name);
  ABS_ASSIGN_OR_RETURN(auto creds, send(creds_req));
  auto j = nlohmann::json::parse(creds.body, nullptr, false);
  if (creds.status != 200 || !j.is_object() || !j.contains("AccessKeyId") ||
      !j["AccessKeyId"].is_string() || !j.contains("SecretAccessKey") ||
      !j["SecretAccessKey"].is_string()) {
    return Status::Corrupt("instance metadata: unreadable credentials for role " +
                           ShortValue(name));
  }
  AwsCredentials c{j["AccessKeyId"], j["SecretAccessKey"], StringField(j, "Token")};
  *expires_unix = std::max<int64_t>(0, ParseIsoTime(StringField(j, "Expiration")));
  source_ = "instance metadata role " + name;
  return c;
}

Result<AwsCredentials> CredentialsProvider::Fetch(int64_t now_unix, int64_t* expires_unix) {
  *expires_unix = 0;
  if (!spec_.s3_access_key_id.empty() || !spec_.s3_secret_access_key.empty()) {
    if (spec_.s3_access_key_id.empty() || spec_.s3_secret_access_key.empty()) {
      return Status::InvalidArgument("s3-storage: access-key-id and secret-access-key go together");
    }
    source_ = "storage block";
    return AwsCredentials{spec_.s3_access_key_id, spec_.s3_secret_access_key, ""};
  }
  if (!spec_.s3_profile.empty()) return FromProfile(spec_.s3_profile, /*required=*/true);
  if (!Env("AWS_ACCESS_KEY_ID").empty() && !Env("AWS_SECRET_ACCESS_KEY").empty()) {
    source_ = "environment";
    return AwsCredentials{Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"),
                          Env("AWS_SESSION_TOKEN")};
  }
  std::string profile = Env("AWS_PROFILE");
  auto from_profile = FromProfile(profile.empty() ? "default" : profile, !profile.empty());
  if (from_profile.ok() || from_profile.status().code() != StatusCode::kNotFound) {
    return from_profile;
  }
  auto web = FromWebIdentity(expires_unix);
  if (web.ok() || web.status().code() != StatusCode::kNotFound) return web;
  auto imds = FromInstanceMetadata(expires_unix);
  if (imds.ok()) return imds;
  (void)now_unix;
  // The metadata service gave credentials before and is only unreachable or busy now: a
  // failure to retry, not a missing configuration.
  if (source_.rfind("instance metadata", 0) == 0 && IsTransient(imds.status())) {
    return imds.status().WithContext("instance metadata");
  }
  return Status::InvalidArgument(
      "no S3 credentials: none in the storage block (access-key-id, secret-access-key), "
      "s3-profile, the environment (AWS_ACCESS_KEY_ID), the shared files, a web identity "
      "(AWS_WEB_IDENTITY_TOKEN_FILE) or the instance metadata service (" +
      imds.status().message() + ")");
}

}  // namespace absvc::storage::s3
