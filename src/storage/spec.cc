#include "storage/spec.h"

#include "common/text.h"

namespace absvc::storage {

std::string NormalizePrefix(const std::string& prefix) {
  std::string out;
  size_t i = 0;
  while (i < prefix.size()) {
    size_t slash = prefix.find('/', i);
    if (slash == std::string::npos) slash = prefix.size();
    if (slash > i) {
      if (!out.empty()) out += '/';
      out.append(prefix, i, slash - i);
    }
    i = slash + 1;
  }
  return out;
}

std::string StorageSpec::KindName() const {
  switch (kind) {
    case StorageKind::kLocal:
      return "local-storage";
    case StorageKind::kS3:
      return "s3-storage";
    case StorageKind::kGcs:
      return "gcp-storage";
    case StorageKind::kAzure:
      return "azure-storage";
    case StorageKind::kMemory:
      return "memory";
  }
  return "storage";
}

std::string StorageSpec::Describe() const {
  auto under = [this](const std::string& top) { return path.empty() ? top : top + "/" + path; };
  switch (kind) {
    case StorageKind::kLocal:
      return "local:" + path;
    case StorageKind::kS3:
      return under("s3://" + bucket);
    case StorageKind::kGcs:
      return under("gs://" + bucket);
    case StorageKind::kAzure:
      return under("azure://" + (azure_account_name.empty() ? azure_endpoint : azure_account_name) +
                   "/" + bucket);
    case StorageKind::kMemory:
      return "memory:" + path;
  }
  return path;
}

Result<StorageSpec> ParseStorageUrl(const std::string& url) {
  StorageSpec spec;
  if (url.empty()) return Status::InvalidArgument("no storage directory or URL given");
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    spec.kind = StorageKind::kLocal;
    spec.path = url;
    return spec;
  }
  std::string scheme = url.substr(0, scheme_end);
  std::string rest = url.substr(scheme_end + 3);
  if (scheme == "file") {
    if (rest.empty()) return Status::InvalidArgument("file:// names no directory");
    spec.kind = StorageKind::kLocal;
    spec.path = rest;
    return spec;
  }
  if (scheme == "s3") {
    spec.kind = StorageKind::kS3;
  } else if (scheme == "gs" || scheme == "gcs") {
    spec.kind = StorageKind::kGcs;
  } else if (scheme == "az" || scheme == "azure") {
    spec.kind = StorageKind::kAzure;
  } else {
    return Status::InvalidArgument("storage URL '" + ShortValue(url) +
                                   "': unknown scheme (use a directory, file://, s3://, gs:// "
                                   "or az://)");
  }
  size_t slash = rest.find('/');
  spec.bucket = rest.substr(0, slash);
  if (spec.bucket.empty()) {
    return Status::InvalidArgument("storage URL '" + ShortValue(url) + "' names no bucket");
  }
  spec.path = slash == std::string::npos ? "" : NormalizePrefix(rest.substr(slash + 1));
  if (spec.path.find("/../") != std::string::npos || spec.path == ".." ||
      spec.path.starts_with("../") || spec.path.ends_with("/..")) {
    return Status::InvalidArgument("storage URL '" + ShortValue(url) + "': '..' in the prefix");
  }
  return spec;
}

}  // namespace absvc::storage
