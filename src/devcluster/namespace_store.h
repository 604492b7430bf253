// The records of one namespace, shared by every node of the devcluster: ownership moves
// between nodes when they stop and start, the data stays (as if replication were
// perfect), so a node loss is visible to clients without losing records.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "wire/digest.h"

namespace absvc::devcluster {

struct StoredRecord {
  std::string set;   // empty = no set
  std::string key;   // stored user key: particle type byte + bytes; empty = none
  std::string bins;  // bins encoded as READ ops, ready to send
  uint16_t n_bins = 0;
  uint16_t generation = 0;
  uint32_t void_time = 0;  // citrusleaf seconds; 0 = never expires
  uint64_t lut_ms = 0;     // citrusleaf milliseconds

  bool ExpiredAt(uint32_t now_cl_seconds) const {
    return void_time != 0 && void_time <= now_cl_seconds;
  }
};

// Descending memcmp order, as the server walks a partition; "resume after D" means the
// records whose digest is strictly less than D.
struct DigestDescending {
  bool operator()(const wire::Digest& a, const wire::Digest& b) const {
    return std::memcmp(a.data(), b.data(), wire::kDigestSize) > 0;
  }
};

struct StorePartition {
  mutable std::shared_mutex mu;
  std::map<wire::Digest, StoredRecord, DigestDescending> records;
};

struct NamespaceConfig {
  std::string name;
  uint32_t replication_factor = 2;
  uint32_t default_ttl = 0;    // seconds; 0 = never expire
  uint32_t nsup_period = 120;  // 0 forbids TTLs, as on a real server
};

class NamespaceStore {
 public:
  explicit NamespaceStore(NamespaceConfig config) : config_(std::move(config)) {}

  const NamespaceConfig& config() const { return config_; }
  StorePartition& partition(uint32_t pid) { return partitions_[pid]; }
  const StorePartition& partition(uint32_t pid) const { return partitions_[pid]; }

  // Live (unexpired) records in a partition. Takes the partition lock.
  uint64_t CountLive(uint32_t pid, uint32_t now_cl_seconds) const;

  struct SetStats {
    std::string name;
    uint64_t objects = 0;
    uint64_t data_bytes = 0;
    uint64_t truncate_lut = 0;
  };
  std::vector<SetStats> Sets(uint32_t now_cl_seconds) const;

  // Deletes every record (of `set`, or all when empty) last updated before `lut_ms`.
  // Returns the number deleted.
  uint64_t Truncate(const std::string& set, uint64_t lut_ms);
  uint64_t truncate_lut() const { return truncate_lut_.load(); }
  uint64_t SetTruncateLut(const std::string& set) const;

 private:
  NamespaceConfig config_;
  std::array<StorePartition, wire::kPartitionCount> partitions_;
  std::atomic<uint64_t> truncate_lut_{0};
  mutable std::mutex sets_mu_;
  std::map<std::string, uint64_t> set_truncate_luts_;
};

}  // namespace absvc::devcluster
