#include "storage/storage.h"

#include <algorithm>

namespace absvc::storage {

bool IsTransient(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNetwork:
    case StatusCode::kTimeout:
    case StatusCode::kUnavailable:
      return true;
    default:
      return false;
  }
}

bool IsUnder(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
}

Status ValidateRelativePath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("empty storage path");
  if (path[0] == '/')
    return Status::InvalidArgument("storage path '" + std::string(path) + "' is absolute");
  if (path.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("storage path has a NUL byte");
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    if (seg == "..") {
      return Status::InvalidArgument("storage path '" + std::string(path) + "' leaves its root");
    }
    if (seg.empty() && slash != path.size()) {
      return Status::InvalidArgument("storage path '" + std::string(path) +
                                     "' has an empty segment");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Status Storage::PutAtomic(const std::string& path, std::string_view data) {
  ABS_ASSIGN_OR_RETURN(auto w, OpenWriter(path));
  ABS_RETURN_IF_ERROR(w->Write(data));
  return w->Close();
}

Result<std::string> Storage::ReadAll(const std::string& path) {
  ABS_ASSIGN_OR_RETURN(auto r, OpenReader(path));
  std::string out;
  char buf[1 << 16];
  while (true) {
    ABS_ASSIGN_OR_RETURN(size_t n, r->Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

Result<std::unique_ptr<Reader>> Storage::OpenReaderAt(const std::string& path, uint64_t offset) {
  ABS_ASSIGN_OR_RETURN(auto r, OpenReader(path));
  char buf[1 << 16];
  while (offset > 0) {
    ABS_ASSIGN_OR_RETURN(size_t n, r->Read(buf, std::min<uint64_t>(offset, sizeof buf)));
    if (n == 0) return Status::Io(path + " ends before offset " + std::to_string(offset));
    offset -= n;
  }
  return r;
}

Status Storage::Probe() {
  return Exists(".abs-probe").status();
}

Status Storage::RemoveUnfinishedWrites(const std::string&) {
  return Status::Ok();
}

}  // namespace absvc::storage
