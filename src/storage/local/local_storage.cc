#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "storage/local/local_storage.h"

namespace absvc::storage {

namespace fs = std::filesystem;

namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::Io(what + " " + path + ": " + std::strerror(errno));
}

// Creates `dir` and any missing parents, each 0700 like the storage root: backups hold
// the cluster's data, and every directory abs creates gets the same mode.
Status MakeDirectories(const fs::path& dir) {
  // A sibling's Remove may prune a parent between our steps (ENOENT): start again.
  for (int attempt = 0;; ++attempt) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return Status::Ok();
    if (dir.has_parent_path() && dir.parent_path() != dir) {
      ABS_RETURN_IF_ERROR(MakeDirectories(dir.parent_path()));
    }
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::Ok();
    if (errno != ENOENT || attempt >= 3) return Errno("cannot create", dir);
  }
}

// Opens a new file, creating its directory. A sibling instance's Remove may prune the
// directory between the two steps, so an ENOENT is retried.
int OpenNewFile(const fs::path& full, const std::string& name, Status* error) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    *error = MakeDirectories(full.parent_path());
    if (!error->ok()) return -1;
    int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != ENOENT) {
      if (fd < 0) *error = Errno("cannot create", name);
      return fd;
    }
  }
  *error = Errno("cannot create", name);
  return -1;
}

class LocalWriter : public Writer {
 public:
  LocalWriter(int fd, std::string tmp, std::string final_path)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~LocalWriter() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());  // never published
    }
  }
  Status Write(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("write after close of " + final_);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("cannot write", final_);
      done += static_cast<size_t>(n);
    }
    written_ += data.size();
    return Status::Ok();
  }
  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    if (::fsync(fd_) != 0) return Errno("cannot sync", final_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      ::unlink(tmp_.c_str());
      return Errno("cannot close", final_);
    }
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
      ::unlink(tmp_.c_str());
      return Errno("cannot publish", final_);
    }
    return Status::Ok();
  }
  uint64_t bytes_written() const override { return written_; }

  // For CreateExclusive: the unpublished file, flushed to disk, and a way to drop it.
  const std::string& temp_path() const { return tmp_; }
  Status Sync() { return ::fsync(fd_) == 0 ? Status::Ok() : Errno("cannot sync", final_); }
  void Discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }

 private:
  int fd_;
  std::string tmp_, final_;
  uint64_t written_ = 0;
};

class LocalReader : public Reader {
 public:
  LocalReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~LocalReader() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t r = ::read(fd_, buf, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("cannot read", path_);
      return static_cast<size_t>(r);
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string path_;
};

// Names of in-progress writes; List never shows them.
constexpr std::string_view kTempMarker = ".abs-partial-";

class LocalStorage : public Storage {
 public:
  explicit LocalStorage(fs::path root) : root_(std::move(root)) {}

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
    std::vector<ObjectInfo> out;
    fs::path start = root_ / prefix;
    std::error_code ec;
    if (!fs::exists(start, ec)) return out;
    if (fs::is_regular_file(start, ec)) {
      out.push_back({prefix, fs::file_size(start, ec)});
      return out;
    }
    for (auto it = fs::recursive_directory_iterator(start, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec)) continue;
      // Files may vanish while we list (a cancelled backup, another instance's
      // retention): skip them rather than fail.
      std::error_code file_ec;
      std::string rel = it->path().lexically_relative(root_).generic_string();
      if (rel.find(kTempMarker) != std::string::npos) continue;
      uint64_t size = it->file_size(file_ec);
      if (file_ec) continue;
      out.push_back({rel, size});
    }
    if (ec) return Status::Io("cannot list " + start.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
  }

  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    std::string full = (root_ / path).string();
    int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound(full + " does not exist");
      return Errno("cannot open", full);
    }
    return std::unique_ptr<Reader>(new LocalReader(fd, full));
  }

  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_ASSIGN_OR_RETURN(auto reader, OpenReader(path));
    int fd = static_cast<LocalReader&>(*reader).fd();
    if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      return Errno("cannot seek in", (root_ / path).string());
    }
    return reader;
  }

  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    fs::path full = root_ / path;
    thread_local std::mt19937_64 rng(std::random_device{}());
    std::string tmp = full.string() + std::string(kTempMarker) + std::to_string(rng());
    Status error;
    int fd = OpenNewFile(full, tmp, &error);
    if (fd < 0) return error;
    return std::unique_ptr<Writer>(new LocalWriter(fd, tmp, full.string()));
  }

  // The temporary files of writers that never closed: a process killed mid-write.
  Status RemoveUnfinishedWrites(const std::string& prefix) override {
    if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
    fs::path start = root_ / prefix;
    std::error_code ec;
    if (!fs::is_directory(start, ec)) return Status::Ok();
    std::vector<fs::path> leftovers;
    for (auto it = fs::recursive_directory_iterator(start, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) &&
          it->path().filename().string().find(kTempMarker) != std::string::npos) {
        leftovers.push_back(it->path());
      }
    }
    if (ec) return Status::Io("cannot list " + start.string() + ": " + ec.message());
    for (const auto& f : leftovers) {
      if (!fs::remove(f, ec) && ec) {
        return Status::Io("cannot remove " + f.string() + ": " + ec.message());
      }
    }
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("empty storage path");
    std::string rel = path.back() == '/' ? path.substr(0, path.size() - 1) : path;
    ABS_RETURN_IF_ERROR(ValidateRelativePath(rel));
    std::error_code ec;
    fs::remove_all(root_ / rel, ec);
    if (ec) return Status::Io("cannot remove " + (root_ / rel).string() + ": " + ec.message());
    // Directories left empty go too, up to the root: objects are all there is, and a
    // removed backup leaves nothing behind. rmdir refuses a directory that is not empty,
    // so a sibling's files are safe.
    for (fs::path dir = fs::path(rel).parent_path(); !dir.empty(); dir = dir.parent_path()) {
      if (::rmdir((root_ / dir).c_str()) != 0) break;
    }
    return Status::Ok();
  }

  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    // Written whole to a temporary file, then linked into place: link() fails when the
    // name exists, so the object appears complete or not at all, and only once.
    ABS_ASSIGN_OR_RETURN(auto w, OpenWriter(path + ".abs-exclusive"));
    auto* local = static_cast<LocalWriter*>(w.get());
    ABS_RETURN_IF_ERROR(local->Write(data));
    ABS_RETURN_IF_ERROR(local->Sync());
    fs::path full = root_ / path;
    bool created = ::link(local->temp_path().c_str(), full.c_str()) == 0;
    int err = errno;
    local->Discard();
    if (created) return true;
    if (err == EEXIST) return false;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EXDEV) {
      return CreateInPlace(full, data);  // a file system without hard links (FUSE mounts)
    }
    errno = err;
    return Errno("cannot create", full.string());
  }

  // O_EXCL on the final name, then the data: exclusive, but a reader may briefly see the
  // object before its data is complete.
  static Result<bool> CreateInPlace(const fs::path& full, std::string_view data) {
    int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) return false;
      return Errno("cannot create", full.string());
    }
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status st = Errno("cannot write", full.string());
        ::close(fd);
        ::unlink(full.c_str());
        return st;
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) return Errno("cannot write", full.string());
    return true;
  }

  Result<bool> Exists(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    std::error_code ec;
    return fs::exists(root_ / path, ec);
  }

  std::string Describe() const override { return root_.string(); }

  // The root is a directory abs can write into.
  Status Probe() override {
    if (::access(root_.c_str(), W_OK | X_OK) != 0) return Errno("cannot write to", root_.string());
    return Status::Ok();
  }

 private:
  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenLocalStorage(const std::string& root) {
  if (root.empty()) return Status::InvalidArgument("local storage needs a path");
  std::error_code ec;
  if (fs::exists(root, ec) && !fs::is_directory(root, ec)) {
    return Status::Io("storage directory " + root + " is not a directory");
  }
  Status made = MakeDirectories(fs::path(root));
  if (!made.ok()) return made.WithContext("storage directory");
  if (!fs::is_directory(root, ec)) return Status::Io(root + " is not a directory");
  return std::unique_ptr<Storage>(new LocalStorage(fs::path(root)));
}

}  // namespace absvc::storage
