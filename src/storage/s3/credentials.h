// Where S3 credentials come from, in the order the AWS SDKs look: the keys in the storage
// block; the named `s3-profile` in the shared files; the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the default profile (AWS_PROFILE or
// "default"); a web identity (IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, traded
// at STS); the instance metadata service (IMDSv2). Temporary credentials are refreshed
// five minutes before they expire, or at once when a request says they have.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"
#include "storage/s3/sigv4.h"
#include "storage/spec.h"

namespace absvc::storage::s3 {

// The shared config and credentials files: [section] name = value, '#' and ';' comments.
// Sections of the config file are "profile name" (or "default").
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
Result<IniSections> ParseIni(const std::string& text, const std::string& what);

class CredentialsProvider {
 public:
  explicit CredentialsProvider(const StorageSpec& spec);
  // Current credentials, fetched or refreshed as needed; the error names every source
  // tried.
  Result<AwsCredentials> Get(int64_t now_unix);
  // A request said the credentials expired: the next Get fetches new ones.
  void Invalidate();
  // The region from the profile, when the spec gives none.
  std::string ProfileRegion();
  // Which source the last credentials came from ("storage block", "environment", ...).
  std::string source() const;

 private:
  Result<AwsCredentials> Fetch(int64_t now_unix, int64_t* expires_unix);
  Result<AwsCredentials> FromProfile(const std::string& profile, bool required);
  Result<AwsCredentials> FromWebIdentity(int64_t* expires_unix);
  Result<AwsCredentials> FromInstanceMetadata(int64_t* expires_unix);

  const StorageSpec spec_;
  mutable std::mutex mu_;
  AwsCredentials cached_;
  bool have_ = false;
  int64_t expires_unix_ = 0;  // 0: never
  std::string source_;
};

// "2024-01-02T03:04:05Z" (fractions allowed) as Unix seconds; -1 when unreadable.
int64_t ParseIsoTime(const std::string& text);

}  // namespace absvc::storage::s3
