#include "service/ownership.h"

#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>

#include "common/bytes.h"
#include "common/cltime.h"
#include "common/json_fields.h"

namespace absvc::service {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/<pid>/stat, the start time in clock ticks since boot; 0 when the
// process does not exist.
struct ProcessStat {
  char state = '?';
  uint64_t start_ticks = 0;  // 0: unknown
};

ProcessStat ReadProcessStat(int64_t pid) {
  ProcessStat out;
  std::string stat = ReadFirstLine("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return out;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // After "(comm) ", the state is field 3; the start time is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return out;
    if (i == 3 && !field.empty()) out.state = field[0];
  }
  out.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  return out;
}

uint64_t ProcessStartTicks(int64_t pid) {
  return ReadProcessStat(pid).start_ticks;
}

std::string Sha256Prefix(const std::string& text, size_t hex_chars) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len)).substr(0, hex_chars);
}

}  // namespace

const Owner& Owner::Self() {
  static const Owner self = [] {
    Owner o;
    char h[256] = {0};
    gethostname(h, sizeof h - 1);
    o.host = h;
    o.boot_id = ReadFirstLine("/proc/sys/kernel/random/boot_id");
    o.pid = static_cast<int64_t>(getpid());
    o.start_ticks = ProcessStartTicks(o.pid);
    char ns[128] = {0};
    if (::readlink("/proc/self/ns/pid", ns, sizeof ns - 1) > 0) o.pid_namespace = ns;
    return o;
  }();
  return self;
}

Json Owner::ToJson() const {
  return {{"host", host},
          {"boot-id", boot_id},
          {"pid-namespace", pid_namespace},
          {"pid", pid},
          {"start-ticks", start_ticks}};
}

Owner Owner::FromJson(const Json& j) {
  Owner o;
  o.host = StringField(j, "host");
  o.boot_id = StringField(j, "boot-id");
  o.pid_namespace = StringField(j, "pid-namespace");
  o.pid = IntField(j, "pid");
  o.start_ticks = CountField(j, "start-ticks");
  return o;
}

std::string Owner::Describe() const {
  return "host " + (host.empty() ? std::string("?") : host) + ", pid " + std::to_string(pid);
}

bool OwnerIsGone(const Json& record, int64_t now_ms, int64_t lease_ms, bool ownerless_is_gone) {
  const Owner& self = Owner::Self();
  Owner owner;
  if (record.is_object() && record.contains("owner") && record["owner"].is_object()) {
    owner = Owner::FromJson(record["owner"]);
  } else {
    owner.host = StringField(record, "host");  // claims written before owners had boot ids
    owner.pid = IntField(record, "pid");
  }
  if (owner.host.empty() || owner.pid <= 0) return ownerless_is_gone;
  // The pid means something here only on this machine, since its boot, in this pid
  // namespace (containers on one machine may share a host name and a boot id).
  bool same_processes = owner.host == self.host &&
                        (owner.boot_id.empty() || owner.boot_id == self.boot_id) &&
                        (owner.pid_namespace.empty() || owner.pid_namespace == self.pid_namespace);
  if (same_processes && owner.pid <= INT32_MAX) {
    if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) return true;
    ProcessStat stat = ReadProcessStat(owner.pid);
    // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0) but will
    // never renew anything: it is gone.
    if (stat.state == 'Z' || stat.state == 'X' || stat.state == 'x') return true;
    if (stat.start_ticks == 0) return false;  // it runs, but /proc hides it (hidepid): alive
    return owner.start_ticks != 0 && stat.start_ticks != owner.start_ticks;  // pid reused
  }
  // Elsewhere (another machine, container or boot) only the heartbeat can tell; the lease
  // must exceed the clocks' skew.
  int64_t heartbeat = IntField(record, "heartbeat-ms");
  return heartbeat > 0 && now_ms - heartbeat > lease_ms;
}

std::string RunLockDirectory(const std::string& routine, bool incremental,
                             const std::string& slice_key) {
  // The slice is hashed: its text holds ':' and ',' and can be long.
  return routine + "/.abs-locks/" + (incremental ? "incremental-" : "full-") +
         (slice_key.empty() ? std::string("all") : Sha256Prefix(slice_key, 16));
}

namespace {

// The <seq>.json records in a lock folder, highest first.
Result<std::vector<std::pair<int64_t, std::string>>> LockRecords(storage::Storage& storage,
                                                                 const std::string& dir) {
  ABS_ASSIGN_OR_RETURN(auto entries, storage.List(dir));
  std::vector<std::pair<int64_t, std::string>> held;
  for (const auto& e : entries) {
    std::string name = storage::BaseName(e.path);
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    std::string digits = name.substr(0, name.size() - 5);
    if (digits.empty() || digits.size() > 15 ||
        !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      continue;
    }
    held.emplace_back(std::stoll(digits), e.path);
  }
  std::sort(held.rbegin(), held.rend());
  return held;
}

}  // namespace

Result<std::unique_ptr<RunLock>> RunLock::Acquire(std::shared_ptr<storage::Storage> storage,
                                                  const std::string& dir, const std::string& what,
                                                  int64_t lease_ms) {
  // A record that disappears between the listing and the read was released: look again
  // rather than take it for a gone owner's.
  for (int attempt = 0;; ++attempt) {
    ABS_ASSIGN_OR_RETURN(auto held, LockRecords(*storage, dir));
    int64_t next = 1;
    const int64_t now = UnixNowMillis();
    if (!held.empty()) {
      next = held.front().first + 1;
      auto text = storage->ReadAll(held.front().second);
      if (!text.ok() && text.status().code() == StatusCode::kNotFound && attempt < 5) continue;
      Json record = text.ok() ? Json::parse(*text, nullptr, false) : Json();
      // Records are published whole (CreateExclusive, PutAtomic): one that does not parse
      // is damaged, and names no owner that could still hold it.
      bool gone = !text.ok() || record.is_discarded() ||
                  OwnerIsGone(record, now, lease_ms, /*ownerless_is_gone=*/true);
      if (!gone) {
        std::string holder = record.is_object() && record.contains("owner")
                                 ? Owner::FromJson(record["owner"]).Describe()
                                 : std::string("another instance");
        return Status::Conflict(what + " is already running on " + holder +
                                " (it shares this storage)");
      }
    }
    Json record = {{"owner", Owner::Self().ToJson()}, {"what", what}, {"heartbeat-ms", now}};
    std::string path = dir + "/" + std::to_string(next) + ".json";
    ABS_ASSIGN_OR_RETURN(bool created, storage->CreateExclusive(path, record.dump()));
    if (!created) {
      return Status::Conflict(what + " was just started by another instance sharing this storage");
    }
    for (const auto& [seq, old] : held)
      (void)storage->Remove(old);  // the gone owner's
    return std::unique_ptr<RunLock>(new RunLock(std::move(storage), path, std::move(record)));
  }
}

RunLock::~RunLock() {
  (void)storage_->Remove(path_);
}

Status RunLock::Renew() {
  // Still ours only while no later record exists and ours was not removed: an instance
  // that judged this owner gone took the lock over.
  ABS_ASSIGN_OR_RETURN(auto held, LockRecords(*storage_, storage::DirName(path_)));
  if (held.empty() || held.front().second != path_) {
    return Status::Conflict("another instance took over the lock " + path_);
  }
  record_["heartbeat-ms"] = UnixNowMillis();
  return storage_->PutAtomic(path_, record_.dump());
}

}  // namespace absvc::service
