// The configuration file: read (YAML, or JSON for *.json) and validated; written
// atomically and readable only by its owner, since it holds secrets.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file.h"
#include "config/config.h"
#include "config/source.h"

namespace absvc::service {

Result<Config> LoadConfigFile(const std::string& path) {
  ABS_ASSIGN_OR_RETURN(std::string text,
                       ReadSmallFile(path, kMaxConfigFileBytes, "configuration file"));
  bool json_file = path.size() > 5 && path.substr(path.size() - 5) == ".json";
  return ParseConfigText(text, json_file, path);
}

Status SaveConfigFile(const std::string& path, const Json& document) {
  // In the format it was read in: LoadConfigFile reads *.json as JSON.
  bool json_file = path.size() > 5 && path.substr(path.size() - 5) == ".json";
  std::string text = json_file ? document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"
                               : JsonToYaml(document);
  std::string tmp = path + ".abs-partial";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Io("cannot write " + tmp + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::Io("cannot write " + tmp);
  }
  // The file being replaced stays as <path>.bak, so an edit can be undone: a hard link
  // renamed into place, so some .bak is always whole.
  std::string bak = path + ".bak", bak_tmp = path + ".bak.abs-partial";
  ::unlink(bak_tmp.c_str());
  if (::link(path.c_str(), bak_tmp.c_str()) == 0 && ::rename(bak_tmp.c_str(), bak.c_str()) != 0) {
    ::unlink(bak_tmp.c_str());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Io("cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace absvc::service
