#include "storage/azure/shared_key.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/base64.h"
#include "common/text.h"
#include "storage/cloud/crypto.h"

namespace absvc::storage::azure {
std::string HttpDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string SharedKeyStringToSign(const SharedKeyRequest& request, const std::string& account) {
  std::map<std::string, std::string> standard;
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& [k, v] : request.headers) {
    std::string name = AsciiLower(k);
    if (name.rfind("x-ms-", 0) == 0) {
      ms.push_back({name, CollapseWhitespace(v)});
    } else {
      standard[name] = v;
    }
  }
  std::sort(ms.begin(), ms.end());
  auto h = [&](const char* name) {
    auto it = standard.find(name);
    return it == standard.end() ? std::string() : it->second;
  };
  std::string s = request.method + "\n" + h("content-encoding") + "\n" + h("content-language") +
                  "\n" + (request.content_length ? std::to_string(request.content_length) : "") +
                  "\n" + h("content-md5") + "\n" + h("content-type") + "\n" + h("date") + "\n" +
                  h("if-modified-since") + "\n" + h("if-match") + "\n" + h("if-none-match") + "\n" +
                  h("if-unmodified-since") + "\n" + h("range") + "\n";
  for (const auto& [k, v] : ms)
    s += k + ":" + v + "\n";
  s += "/" + account + request.url_path;
  std::map<std::string, std::vector<std::string>> query;
  for (const auto& [k, v] : request.query)
    query[AsciiLower(k)].push_back(v);
  for (auto& [k, values] : query) {
    std::sort(values.begin(), values.end());
    s += "\n" + k + ":";
    for (size_t i = 0; i < values.size(); ++i)
      s += (i ? "," : "") + values[i];
  }
  return s;
}

Result<std::string> SharedKeyAuthorization(const SharedKeyRequest& request,
                                           const std::string& account,
                                           const std::string& base64_key) {
  auto key = Base64Decode(base64_key);
  if (!key) return Status::InvalidArgument("azure-storage: account-key is not base64");
  std::string mac = cloud::HmacSha256(*key, SharedKeyStringToSign(request, account));
  return "SharedKey " + account + ":" + Base64Encode(mac);
}

}  // namespace absvc::storage::azure
