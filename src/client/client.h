// src/client: a C++ Aerospike client for backup and restore. Thread-safe: one Client
// serves every worker of a job. Errors name the node and the command.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/cluster.h"
#include "client/node_gate.h"
#include "client/options.h"
#include "common/status.h"
#include "wire/message.h"

namespace absvc::client {

struct Operation {
  wire::OpType op;
  std::string name;
  Value value;
};

// One row of a batch write: the key, the write bits and the ops already encoded
// (wire::AppendOp), so a restore can encode straight from the backup file.
struct BatchWriteRecord {
  Key key;
  RecordExistsAction exists = RecordExistsAction::kUpdate;
  GenerationPolicy generation_policy = GenerationPolicy::kNone;
  uint32_t generation = 0;
  uint32_t ttl = 0;
  bool send_key = false;
  std::string ops;
  uint16_t n_ops = 0;
  int result = -1;  // server result code once the batch ran; -1 = not sent

  void AddBin(const Bin& bin);
};

struct BatchReadRecord {
  Key key;
  std::vector<std::string> bins;  // empty = all bins
  int result = -1;
  Record record;
};

struct BatchPolicy {
  std::chrono::milliseconds total_timeout{30000};
  int max_retries = 3;
  std::string filter;
  size_t batch_size = 128;      // rows per request to one node
  size_t max_outstanding = 16;  // requests in flight at once for one call
};

// Where a partition scan stands. The caller owns the cursors, so a scan interrupted by
// a process restart can resume from them.
struct PartitionCursor {
  uint16_t pid = 0;
  bool has_digest = false;
  wire::Digest last_digest{};  // last record delivered; the scan resumes strictly after it
  bool done = false;
  uint64_t records = 0;
};

// A record as a scan delivers it. Views are valid only during the callback.
struct ScanRecordView {
  std::string_view ns;
  std::string_view set;
  std::string_view user_key;        // KEY field data (type byte + bytes); empty when not stored
  const uint8_t* digest = nullptr;  // 20 bytes
  uint32_t partition_id = 0;
  uint16_t generation = 0;
  uint32_t void_time = 0;                           // citrusleaf seconds; 0 = never expires
  const std::vector<wire::OpView>* bins = nullptr;  // name, particle type, value
};

struct ScanRequest {
  std::string ns;
  std::vector<std::string> sets;  // empty = every set and records without one
  std::vector<std::string> bins;  // empty = all bins
  bool no_bins = false;
  std::string filter;               // packed expression, and-ed with the set filter
  uint32_t records_per_second = 0;  // for the whole scan, split across node requests
  size_t max_concurrent_nodes = 0;  // 0 = every node at once
  int max_retries = 100;            // rounds after the first
  std::chrono::milliseconds retry_delay{200};
  std::chrono::milliseconds socket_timeout{30000};
  // The whole scan, every round included, must end within this; 0 = no bound. Past it
  // the scan fails with kTimeout, its cursors where they got to.
  std::chrono::milliseconds total_timeout{0};
  // Ask for compressed answers (use-scan-compression): servers that compress (EE)
  // send zlib-compressed protos; others answer as usual.
  bool compress = false;
  // Shared by the scans of one job (max-concurrent-nodes); null = no limit.
  NodeGate* node_gate = nullptr;
};

// Updated while the scan runs (from several threads), so a caller may watch progress.
struct ScanStats {
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> bytes{0};  // proto bodies received
  std::atomic<uint64_t> rounds{0};
  std::atomic<uint64_t> partition_retries{0};
  std::atomic<uint64_t> compressed_protos{0};  // answers that came compressed
};

// Called for each record, possibly from several threads at once (one per node request).
// Returning an error aborts the scan with that error.
using ScanCallback = std::function<Status(const ScanRecordView&)>;

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(ClientOptions options);
  ~Client();

  Cluster& cluster() { return *cluster_; }
  std::vector<std::shared_ptr<Node>> Nodes() const { return cluster_->Nodes(); }

  // Info to one node (by name), any node, or every node (node name -> value).
  Result<std::string> Info(const std::string& node, const std::string& command);
  Result<std::string> InfoAny(const std::string& command);
  Result<std::map<std::string, std::string>> InfoAll(const std::string& command);

  Status Put(const Key& key, const std::vector<Bin>& bins, const WritePolicy& policy = {});
  // Not found is kNotFound.
  Result<Record> Get(const Key& key, const std::vector<std::string>& bins = {},
                     const ReadPolicy& policy = {});
  Result<Record> GetHeader(const Key& key, const ReadPolicy& policy = {});
  // True when a record was deleted, false when there was none.
  Result<bool> Delete(const Key& key, const WritePolicy& policy = {});
  Status Touch(const Key& key, const WritePolicy& policy = {});
  Result<Record> Operate(const Key& key, const std::vector<Operation>& ops,
                         const WritePolicy& policy = {});

  // Splits rows by master node and sends each node its rows; fills each row's result.
  // Fails only when a node's batch could not be delivered within the retries.
  Status BatchWrite(std::span<BatchWriteRecord> records, const BatchPolicy& policy = {});
  // One row written on its own, with the row's write bits and the policy's timeout,
  // retries and filter; fills row.result. Fails like BatchWrite: only when the write
  // could not be delivered.
  Status Write(BatchWriteRecord& row, const WritePolicy& policy = {});
  Status BatchRead(std::vector<BatchReadRecord>& records, const BatchPolicy& policy = {});

  // Truncates a set (or the namespace when `set` is empty) of records last updated
  // before `before_unix_nanos` (0 = now).
  Status Truncate(const std::string& ns, const std::string& set, int64_t before_unix_nanos = 0);

  // Reads the partitions of `cursors` that are not done, each from its current owner,
  // resuming every partition after its cursor. A partition whose node fails or reports it
  // unavailable is retried on its current owner until max_retries rounds are spent.
  Status ScanPartitions(const ScanRequest& request, std::vector<PartitionCursor>& cursors,
                        const ScanCallback& callback, ScanStats* stats = nullptr);

 private:
  explicit Client(std::unique_ptr<Cluster> cluster) : cluster_(std::move(cluster)) {}
  Result<std::string> KeyCommand(const Key& key, const std::string& message, bool write,
                                 std::chrono::milliseconds timeout, int max_retries,
                                 const char* what);
  std::unique_ptr<Cluster> cluster_;
};

// Cursors for every partition in [begin, begin + count).
std::vector<PartitionCursor> CursorsForRange(uint32_t begin, uint32_t count);

}  // namespace absvc::client
