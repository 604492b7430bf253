// What storage servers and credential files hand abs: S3's XML answers (listings, upload
// ids, errors, batch-delete results, STS credentials), the AWS shared config files, and
// Azure's List Blobs pages and errors, GCS's listing pages and service-account keys.
// The first byte picks the parser; any bytes must give a value or a clear error, never a
// crash, and a listing's entries must carry what its parser promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/azure/azure_xml.h"
#include "storage/cloud/transfer.h"
#include "storage/cloud/xml.h"
#include "storage/gcs/gcs_json.h"
#include "storage/gcs/service_account.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::storage;
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0: {
      auto page = s3::ParseListObjectsV2(text, "listing");
      if (page.ok()) {
        for (const auto& o : page->objects)
          if (o.key.empty()) __builtin_trap();
        if (page->truncated && page->next_token.empty()) __builtin_trap();
      }
      break;
    }
    case 1:
      (void)s3::ParseUploadId(text, "upload");
      break;
    case 2: {
      auto e = s3::ParseS3Error(text);
      if (e.code.size() > 200 || e.message.size() > 300) __builtin_trap();  // quoted short
      break;
    }
    case 3:
      (void)s3::ParseDeleteErrors(text, "delete");
      break;
    case 4:
      (void)s3::ParseAssumeRoleResult(text, "sts");
      break;
    case 5:
      (void)s3::ParseIni(text, "credentials");
      (void)s3::ParseIsoTime(text);
      (void)cloud::SizeFromContentRange(text);
      break;
    case 6: {
      auto page = azure::ParseListBlobs(text, "listing");
      if (page.ok()) {
        for (const auto& b : page->blobs)
          if (b.name.empty()) __builtin_trap();
      }
      break;
    }
    case 7: {
      auto e = azure::ParseAzureError(text, text.substr(0, 300));
      if (e.code.size() > 200 || e.message.size() > 300) __builtin_trap();
      break;
    }
    case 8: {
      auto page = gcs::ParseObjectList(text, "listing");
      if (page.ok()) {
        for (const auto& o : page->objects)
          if (o.name.empty()) __builtin_trap();
      }
      break;
    }
    case 9: {
      // A key whose private_key is not PEM must fail to sign, not crash.
      auto key = gcs::ParseServiceAccountKey(text, "key");
      if (key.ok()) (void)gcs::SignedJwt(*key, "scope", 0);
      break;
    }
  }
  return 0;
}
