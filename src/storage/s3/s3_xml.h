// The S3 answers abs reads, parsed from their XML: a ListObjectsV2 page, the upload id of
// a new multipart upload, an error, a batch delete's failures, and STS credentials.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::storage::s3 {

struct ListedObject {
  std::string key;
  uint64_t size = 0;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;
};

Result<ListPage> ParseListObjectsV2(const std::string& xml, const std::string& what);
Result<std::string> ParseUploadId(const std::string& xml, const std::string& what);

struct S3Error {
  std::string code, message;
};
// Whatever can be read of an error answer; an empty or unreadable body gives {}.
S3Error ParseS3Error(const std::string& xml);

// Keys a DeleteObjects answer reports as not deleted, with their error codes.
Result<std::vector<std::string>> ParseDeleteErrors(const std::string& xml, const std::string& what);

struct StsCredentials {
  std::string access_key_id, secret_access_key, session_token, expiration;
};
// An AssumeRoleWithWebIdentity answer.
Result<StsCredentials> ParseAssumeRoleResult(const std::string& xml, const std::string& what);

}  // namespace absvc::storage::s3
