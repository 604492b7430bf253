#include "storage/azure/azure_xml.h"

#include "common/text.h"
#include "storage/cloud/xml.h"

namespace absvc::storage::azure {

Result<BlobPage> ParseListBlobs(const std::string& xml, const std::string& what) {
  ABS_ASSIGN_OR_RETURN(auto root, cloud::ParseXml(xml, what));
  if (root->name != "EnumerationResults") {
    return Status::Corrupt(what + ": expected EnumerationResults, got " + ShortValue(root->name));
  }
  BlobPage page;
  if (const cloud::XmlElement* blobs = root->Child("Blobs")) {
    for (const cloud::XmlElement* b : blobs->Children("Blob")) {
      BlobEntry e;
      e.name = b->ChildText("Name");
      const cloud::XmlElement* props = b->Child("Properties");
      std::string size = props ? props->ChildText("Content-Length") : "";
      if (e.name.empty() || size.empty() || size.size() > 19 ||
          size.find_first_not_of("0123456789") != std::string::npos) {
        return Status::Corrupt(what + ": a blob without a name or a size ('" + ShortValue(e.name) +
                               "', '" + ShortValue(size) + "')");
      }
      e.size = std::stoull(size);
      page.blobs.push_back(std::move(e));
    }
  }
  page.next_marker = root->ChildText("NextMarker");
  return page;
}

AzureError ParseAzureError(const std::string& xml, const std::string& header_code) {
  AzureError e;
  if (!xml.empty()) {
    auto root = cloud::ParseXml(xml, "error");
    if (root.ok()) {
      e.code = ShortValue((*root)->ChildText("Code"), 128);
      e.message = ShortValue((*root)->ChildText("Message"), 256);
      if (size_t nl = e.message.find('\n'); nl != std::string::npos) e.message.resize(nl);
    }
  }
  if (e.code.empty()) e.code = ShortValue(header_code, 128);
  return e;
}

}  // namespace absvc::storage::azure
