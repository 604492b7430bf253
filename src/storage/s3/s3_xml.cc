#include "storage/s3/s3_xml.h"

#include "common/text.h"
#include "storage/cloud/xml.h"

namespace absvc::storage::s3 {

using cloud::ParseXml;
using cloud::XmlElement;

Result<ListPage> ParseListObjectsV2(const std::string& xml, const std::string& what) {
  ABS_ASSIGN_OR_RETURN(auto root, ParseXml(xml, what));
  if (root->name != "ListBucketResult") {
    return Status::Corrupt(what + ": expected ListBucketResult, got " + ShortValue(root->name));
  }
  ListPage page;
  for (const XmlElement* c : root->Children("Contents")) {
    ListedObject o;
    o.key = c->ChildText("Key");
    std::string size = c->ChildText("Size");
    if (o.key.empty() || size.empty() || size.size() > 19 ||
        size.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Corrupt(what + ": an entry without a key or a size ('" + ShortValue(o.key) +
                             "', '" + ShortValue(size) + "')");
    }
    o.size = std::stoull(size);
    page.objects.push_back(std::move(o));
  }
  page.truncated = root->ChildText("IsTruncated") == "true";
  page.next_token = root->ChildText("NextContinuationToken");
  if (page.truncated && page.next_token.empty()) {
    return Status::Corrupt(what + ": a truncated page without a continuation token");
  }
  return page;
}

Result<std::string> ParseUploadId(const std::string& xml, const std::string& what) {
  ABS_ASSIGN_OR_RETURN(auto root, ParseXml(xml, what));
  std::string id = root->ChildText("UploadId");
  if (id.empty()) return Status::Corrupt(what + ": no UploadId");
  return id;
}

S3Error ParseS3Error(const std::string& xml) {
  S3Error e;
  if (xml.empty()) return e;
  auto root = ParseXml(xml, "error");
  if (!root.ok()) return e;
  // S3 answers <Error>; STS wraps it: <ErrorResponse><Error>.
  const cloud::XmlElement* error = (*root)->Child("Error");
  if (!error) error = root->get();
  e.code = ShortValue(error->ChildText("Code"), 128);
  e.message = ShortValue(error->ChildText("Message"), 256);
  return e;
}

Result<std::vector<std::string>> ParseDeleteErrors(const std::string& xml,
                                                   const std::string& what) {
  ABS_ASSIGN_OR_RETURN(auto root, ParseXml(xml, what));
  std::vector<std::string> failed;
  for (const XmlElement* e : root->Children("Error")) {
    failed.push_back(ShortValue(e->ChildText("Key"), 256) + " (" +
                     ShortValue(e->ChildText("Code"), 64) + ")");
  }
  return failed;
}

Result<StsCredentials> ParseAssumeRoleResult(const std::string& xml, const std::string& what) {
  ABS_ASSIGN_OR_RETURN(auto root, ParseXml(xml, what));
  const XmlElement* result = root->Child("AssumeRoleWithWebIdentityResult");
  const XmlElement* creds = result ? result->Child("Credentials") : nullptr;
  if (!creds) return Status::Corrupt(what + ": no Credentials");
  StsCredentials out{creds->ChildText("AccessKeyId"), creds->ChildText("SecretAccessKey"),
                     creds->ChildText("SessionToken"), creds->ChildText("Expiration")};
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    return Status::Corrupt(what + ": Credentials without keys");
  }
  return out;
}

}  // namespace absvc::storage::s3
