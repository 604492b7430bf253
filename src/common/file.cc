#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace absvc {

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes,
                                  const std::string& what) {
  const std::string name = what + " " + path;
  // Devices are refused before they are opened: opening some has effects.
  struct stat before {};
  if (::stat(path.c_str(), &before) == 0 && !S_ISREG(before.st_mode) && !S_ISDIR(before.st_mode) &&
      !S_ISFIFO(before.st_mode) && !S_ISSOCK(before.st_mode)) {
    return Status::InvalidArgument("cannot read " + name + ": it is a device, not a regular file");
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    std::string reason = std::strerror(err);
    if (err == ENOENT) return Status::NotFound("cannot read " + name + ": " + reason);
    if (err == EACCES || err == ELOOP || err == ENOTDIR || err == ENAMETOOLONG) {
      return Status::InvalidArgument("cannot read " + name + ": " + reason);
    }
    return Status::Io("cannot read " + name + ": " + reason);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status error = Status::Io("cannot read " + name + ": " + std::strerror(errno));
    ::close(fd);
    return error;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    return Status::InvalidArgument("cannot read " + name + ": it is " + kind +
                                   ", not a regular file");
  }
  auto too_big = [&](uint64_t size) {
    return Status::InvalidArgument(name + " is " + std::to_string(size) + " bytes; at most " +
                                   std::to_string(max_bytes) + " are allowed");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return too_big(static_cast<uint64_t>(st.st_size));
  }
  std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  while (true) {
    if (got == text.size()) {
      if (text.size() > max_bytes) {
        ::close(fd);
        return too_big(text.size());  // it grew while we read
      }
      text.resize(std::min(max_bytes + 1, text.size() * 2 + 4096));
    }
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = Status::Io("cannot read " + name + ": " + std::strerror(errno));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  if (got > max_bytes) return too_big(got);
  return text;
}

}  // namespace absvc
