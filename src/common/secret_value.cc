#include "common/secret_value.h"

#include <cstdlib>

#include "common/base64.h"
#include "common/file.h"

namespace absvc {
namespace {

bool TakePrefix(const std::string& value, std::string_view prefix, std::string* rest) {
  if (value.compare(0, prefix.size(), prefix) != 0) return false;
  *rest = value.substr(prefix.size());
  return true;
}

Result<std::string> FromEnvironment(const std::string& var, const std::string& what) {
  if (var.empty()) return Status::InvalidArgument(what + ": env: names no variable");
  const char* v = std::getenv(var.c_str());
  if (v == nullptr) {
    return Status::InvalidArgument(what + ": environment variable " + var + " is not set");
  }
  if (*v == '\0') {
    return Status::InvalidArgument(what + ": environment variable " + var + " is empty");
  }
  return std::string(v);
}

Result<std::string> Decode(const std::string& text, const std::string& what,
                           const std::string& source) {
  auto decoded = Base64Decode(text);
  if (!decoded) return Status::InvalidArgument(what + ": " + source + " is not valid base64");
  if (decoded->empty()) return Status::InvalidArgument(what + ": " + source + " is empty");
  return *decoded;
}

}  // namespace

Result<std::string> ResolveSecretValue(const std::string& value, const std::string& what) {
  std::string rest;
  if (TakePrefix(value, "file:", &rest)) {
    if (rest.empty()) return Status::InvalidArgument(what + ": file: names no file");
    auto text = ReadSmallFile(rest, 64 << 10, what + " file");
    if (!text.ok()) return text.status();
    std::string secret = std::move(*text);
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
      secret.pop_back();
    if (secret.empty()) return Status::InvalidArgument(what + ": file " + rest + " is empty");
    return secret;
  }
  if (TakePrefix(value, "env-b64:", &rest)) {
    ABS_ASSIGN_OR_RETURN(std::string encoded, FromEnvironment(rest, what));
    return Decode(encoded, what, "environment variable " + rest);
  }
  if (TakePrefix(value, "env:", &rest)) return FromEnvironment(rest, what);
  if (TakePrefix(value, "b64:", &rest)) return Decode(rest, what, "the b64: value");
  return value;
}

}  // namespace absvc
