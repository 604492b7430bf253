#include "storage/gcs/gcs_json.h"

#include <nlohmann/json.hpp>

#include "common/text.h"

namespace absvc::storage::gcs {

Result<ObjectPage> ParseObjectList(const std::string& json, const std::string& what) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return Status::Corrupt(what + " is not a JSON object");
  ObjectPage page;
  if (j.contains("items")) {
    if (!j["items"].is_array()) return Status::Corrupt(what + ": items is not a list");
    for (const auto& item : j["items"]) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
          !item.contains("size") || !item["size"].is_string()) {
        return Status::Corrupt(what + ": an entry without a name or a size");
      }
      std::string name = item["name"].get<std::string>();
      std::string size = item["size"].get<std::string>();
      if (name.empty() || size.empty() || size.size() > 19 ||
          size.find_first_not_of("0123456789") != std::string::npos) {
        return Status::Corrupt(what + ": entry '" + ShortValue(name) + "' has size '" +
                               ShortValue(size) + "'");
      }
      page.objects.push_back({name, std::stoull(size)});
    }
  }
  if (j.contains("nextPageToken")) {
    if (!j["nextPageToken"].is_string())
      return Status::Corrupt(what + ": nextPageToken is not text");
    page.next_page_token = j["nextPageToken"].get<std::string>();
  }
  return page;
}

}  // namespace absvc::storage::gcs
