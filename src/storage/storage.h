// The storage seam: every backup byte goes through a Storage, so local disk, S3, GCS,
// Azure and test doubles are interchangeable. Paths are relative, '/'-separated, and never
// contain "..". A writer's object becomes visible only when Close() succeeds, so a crash
// or a failed write never leaves a half-written file looking complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::storage {

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status Write(std::string_view data) = 0;
  // Flushes and publishes the object. After Close, no more writes.
  virtual Status Close() = 0;
  // Bytes handed to the layer below (after compression and encryption when stacked).
  virtual uint64_t bytes_written() const = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to n bytes; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

struct ObjectInfo {
  std::string path;  // relative to the storage root
  uint64_t size = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  // Every object under `prefix` (recursively), sorted by path: the object named `prefix`
  // and those under `prefix/`, never `prefix` + other characters (see IsUnder). "" lists
  // everything.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) = 0;
  // From byte `offset` on: how a broken download resumes. The default reads and drops
  // the bytes before it; backends with ranged reads override it.
  virtual Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset);
  virtual Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) = 0;
  // Removes one object, or everything under a prefix ending in '/'.
  virtual Status Remove(const std::string& path) = 0;
  // Writes a small object in one step, atomically.
  virtual Status PutAtomic(const std::string& path, std::string_view data);
  virtual Result<std::string> ReadAll(const std::string& path);
  // Creates a small object only if nothing is at `path` yet: true when this call created
  // it, false when it existed. Lets several writers (parallel service instances) claim a
  // name without clobbering each other.
  virtual Result<bool> CreateExclusive(const std::string& path, std::string_view data) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  virtual std::string Describe() const = 0;
  // Whether the storage answers with these credentials (bucket or directory reachable),
  // for /ready and for checks before a job starts. The default asks whether an object
  // exists.
  virtual Status Probe();
  // Removes what unfinished writes under `prefix` left behind, when the writer is known
  // to be gone (a backup resuming in its own directory after a kill). Such leftovers are
  // never listed, so nothing else would remove them. Backends whose unfinished writes
  // leave nothing visible or billable do nothing (the default).
  virtual Status RemoveUnfinishedWrites(const std::string& prefix);
  // Memory one open writer holds for what it has not handed on yet (a cloud upload's part
  // being filled), and one open reader for what it fetched ahead (a ranged read's chunk):
  // how a job fits its writers and readers to the memory budget.
  virtual size_t writer_memory_bytes() const { return 64 << 10; }
  virtual size_t reader_memory_bytes() const { return 64 << 10; }
};

// Failures worth retrying: the storage was unreachable, slow or busy (kNetwork, kTimeout,
// kUnavailable). Backends decide the code where the failure arises: a 503 or a reset is
// transient, a 403 or a missing bucket is not.
bool IsTransient(const Status& status);

// Whether List(prefix) includes `path`: it is `prefix`, or under `prefix` as a directory.
bool IsUnder(std::string_view path, std::string_view prefix);

// Rejects absolute paths, "..", empty segments and NUL.
Status ValidateRelativePath(std::string_view path);

// Storage paths are '/'-separated: the last segment, all before it ("" at the top), and
// a path under a directory ("" being the root).
std::string BaseName(const std::string& path);
std::string DirName(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace absvc::storage
