#include "backup/definitions.h"

#include <map>

#include "common/base64.h"
#include "wire/info.h"

namespace absvc::backup {

namespace {

char SindexBinType(const std::string& t) {
  if (t == "string" || t == "STRING") return 'S';
  if (t == "geo2dsphere" || t == "GEO2DSPHERE") return 'G';
  if (t == "blob" || t == "BLOB") return 'B';
  return 'N';
}

char SindexIndexType(const std::string& t) {
  if (t == "list" || t == "LIST") return 'L';
  if (t == "mapkeys" || t == "MAPKEYS") return 'K';
  if (t == "mapvalues" || t == "MAPVALUES") return 'V';
  return 'N';
}

}  // namespace

Result<std::vector<asb::SindexDefinition>> FetchSindexes(client::Client& c, const std::string& ns) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("sindex-list:ns=" + ns));
  if (auto err = wire::ParseInfoError(list)) {
    return Status::Server(err->code, "sindex-list: " + err->message);
  }
  std::vector<asb::SindexDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::map<std::string, std::string> kv;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ':'))
      kv[k] = v;
    if (kv["ns"] != ns || kv["indexname"].empty()) continue;
    asb::SindexDefinition s;
    s.ns = ns;
    s.name = kv["indexname"];
    s.set = (kv["set"] == "null" || kv["set"] == "NULL") ? "" : kv["set"];
    s.bin = kv["bin"];
    s.bin_type = SindexBinType(kv["type"]);
    s.index_type = SindexIndexType(kv["indextype"]);
    s.context = (kv["context"] == "null" || kv["context"] == "NULL") ? "" : kv["context"];
    if (s.bin.empty() || s.bin == "null") continue;  // expression indexes: not in .asb 3.1
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<asb::UdfDefinition>> FetchUdfs(client::Client& c) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("udf-list"));
  std::vector<asb::UdfDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::string name;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ',')) {
      if (k == "filename") name = v;
    }
    if (name.empty()) continue;
    ABS_ASSIGN_OR_RETURN(std::string answer, c.InfoAny("udf-get:filename=" + name));
    std::string content;
    for (auto& [k, v] : wire::ParseKeyValues(answer)) {
      if (k == "content") {
        auto decoded = Base64Decode(v);
        if (!decoded) return Status::Corrupt("udf-get " + name + ": content is not base64");
        content = *decoded;
      }
    }
    out.push_back({'L', name, content});
  }
  return out;
}

}  // namespace absvc::backup
