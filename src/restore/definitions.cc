#include "restore/definitions.h"

#include <map>

#include "common/base64.h"
#include "wire/info.h"
#include "wire/result_code.h"

namespace absvc::restore {
namespace {

// The info protocol's "index already exists" answer: restoring an index twice is fine.
constexpr int kIndexFound = 200;

}  // namespace

Status DefinitionApplier::CreateSindex(const asb::SindexDefinition& s) {
  static const std::map<char, std::string> kBinTypes = {
      {'S', "string"}, {'N', "numeric"}, {'G', "geo2dsphere"}, {'B', "blob"}};
  static const std::map<char, std::string> kIndexTypes = {
      {'N', "default"}, {'L', "list"}, {'K', "mapkeys"}, {'V', "mapvalues"}};
  auto bin_type = kBinTypes.find(s.bin_type);
  auto index_type = kIndexTypes.find(s.index_type);
  if (bin_type == kBinTypes.end() || index_type == kIndexTypes.end()) {
    return Status::InvalidArgument("index " + s.name + ": unknown index type '" +
                                   std::string(1, s.index_type) + "' or bin type '" +
                                   std::string(1, s.bin_type) + "'");
  }
  std::string cmd = "sindex-create:namespace=" + transform_.TargetNamespace(s.ns) +
                    ";indexname=" + s.name + (s.set.empty() ? "" : ";set=" + s.set) +
                    ";indextype=" + index_type->second + ";bin=" + s.bin +
                    ";type=" + bin_type->second +
                    (s.context.empty() ? "" : ";context=" + s.context);
  ABS_ASSIGN_OR_RETURN(std::string answer, client_.InfoAny(cmd));
  if (auto err = wire::ParseInfoError(answer); err && err->code != kIndexFound) {
    return Status::Server(err->code, "creating index " + s.name + ": " + err->message);
  }
  ++counters_.index_count;
  return Status::Ok();
}

Status DefinitionApplier::PutUdf(const asb::UdfDefinition& u) {
  std::string b64 = Base64Encode(u.content);
  ABS_ASSIGN_OR_RETURN(
      std::string answer,
      client_.InfoAny("udf-put:filename=" + u.name + ";content=" + b64 +
                      ";content-len=" + std::to_string(b64.size()) + ";udf-type=LUA"));
  if (answer.rfind("error=", 0) == 0 || wire::ParseInfoError(answer)) {
    return Status::Server(wire::result::kUdfError, "registering UDF " + u.name + ": " + answer);
  }
  ++counters_.udf_count;
  return Status::Ok();
}

}  // namespace absvc::restore
