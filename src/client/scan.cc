// Partition scans that never lose or repeat a record when the cluster changes: each
// partition keeps the digest of the last record delivered, and a partition whose node
// fails or reports it unavailable is resumed strictly after that digest on its current
// owner in the next round.
#include <openssl/rand.h>

#include <cstring>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "client/client.h"
#include "common/bytes.h"
#include "common/log.h"
#include "wire/expression.h"
#include "wire/proto.h"
#include "wire/result_code.h"

namespace absvc::client {
namespace {

uint64_t RandomTaskId() {
  uint64_t id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id);
  return id == 0 ? 1 : id;
}

// The filter a scan sends: the caller's expression and-ed with the set list when the
// scan covers several sets (one set goes in the SET field instead).
std::string EffectiveFilter(const ScanRequest& r) {
  if (r.sets.size() <= 1) return r.filter;
  std::vector<std::string> any_set;
  for (const auto& s : r.sets)
    any_set.push_back(wire::exp::Eq(wire::exp::SetName(), wire::exp::Str(s)));
  std::string sets = wire::exp::Or(any_set);
  if (r.filter.empty()) return sets;
  return wire::exp::And({std::string_view(r.filter), std::string_view(sets)});
}

struct NodeScanResult {
  Status status;
  std::vector<size_t> unavailable;  // cursor indexes the node reported unavailable
  bool completed = false;           // LAST seen
};

class PartitionScanner {
 public:
  PartitionScanner(Cluster& cluster, const ScanRequest& request,
                   std::vector<PartitionCursor>& cursors, const ScanCallback& callback,
                   ScanStats* stats)
      : cluster_(cluster),
        request_(request),
        cursors_(cursors),
        callback_(callback),
        stats_(stats),
        filter_(EffectiveFilter(request)) {
    for (size_t i = 0; i < cursors_.size(); ++i)
      index_of_pid_[cursors_[i].pid] = i;
    if (request_.total_timeout.count() > 0) {
      deadline_ = std::chrono::steady_clock::now() + request_.total_timeout;
    }
  }

  Status Run() {
    Status last;
    for (int round = 0;; ++round) {
      std::vector<size_t> pending;
      for (size_t i = 0; i < cursors_.size(); ++i) {
        if (!cursors_[i].done) pending.push_back(i);
      }
      if (pending.empty()) return Status::Ok();
      ABS_RETURN_IF_ERROR(CheckDeadline(pending.size()));
      if (round > request_.max_retries) {
        return Status::Unavailable(
            "scan of " + request_.ns + " gave up after " + std::to_string(round) + " rounds with " +
            std::to_string(pending.size()) + " partitions unread (first: " +
            std::to_string(cursors_[pending[0]].pid) + "); last error: " + last.ToString());
      }
      if (round > 0) {
        std::this_thread::sleep_for(request_.retry_delay);
        (void)cluster_.TendNow();
      }
      if (stats_) ++stats_->rounds;
      Status st = RunRound(pending);
      if (!st.ok()) {
        // A read cut short by the deadline is the deadline's failure.
        if (Status late = CheckDeadline(0); !late.ok()) return late;
        if (!Retryable(st) || callback_failed_) return st;
        last = st;
      }
    }
  }

 private:
  // kTimeout once the scan's total-timeout has passed (`pending` partitions left, when
  // known).
  Status CheckDeadline(size_t pending) const {
    if (std::chrono::steady_clock::now() < deadline_) return Status::Ok();
    deadline_passed_ = true;
    return Status::Timeout(
        "scan of " + request_.ns + " exceeded its total-timeout of " +
        std::to_string(request_.total_timeout.count()) + " ms" +
        (pending ? " with " + std::to_string(pending) + " partitions unread" : std::string()));
  }

  static bool Retryable(const Status& st) {
    if (st.code() == StatusCode::kServer) {
      int c = st.server_code();
      namespace rc = wire::result;
      return c == rc::kPartitionUnavailable || c == rc::kTimeout || c == rc::kClusterKeyMismatch ||
             c == rc::kKeyBusy || c == rc::kDeviceOverload;
    }
    return st.code() == StatusCode::kNetwork || st.code() == StatusCode::kTimeout ||
           st.code() == StatusCode::kUnavailable;
  }

  // One round: every pending partition to its current owner, one request per node.
  Status RunRound(const std::vector<size_t>& pending) {
    auto table = cluster_.partitions();
    if (!table->namespaces.count(request_.ns)) {
      return Status::Server(wire::result::kNamespaceNotFound,
                            "scan: namespace " + request_.ns + " not found in the cluster");
    }
    std::map<std::shared_ptr<Node>, std::vector<size_t>> groups;
    Status missing;
    for (size_t i : pending) {
      auto node = table->ReadNode(request_.ns, cursors_[i].pid, cluster_.options().prefer_racks);
      if (node) {
        groups[node].push_back(i);
      } else {
        missing = Status::Unavailable("partition " + std::to_string(cursors_[i].pid) +
                                      " has no live owner");
        if (stats_) ++stats_->partition_retries;
      }
    }
    std::vector<std::pair<std::shared_ptr<Node>, std::vector<size_t>>> work(groups.begin(),
                                                                            groups.end());
    size_t concurrency = request_.max_concurrent_nodes == 0
                             ? work.size()
                             : std::min(request_.max_concurrent_nodes, work.size());
    uint32_t rps_per_node = 0;
    if (request_.records_per_second > 0) {
      rps_per_node = std::max<uint32_t>(
          1, request_.records_per_second / static_cast<uint32_t>(std::max<size_t>(1, concurrency)));
    }
    std::atomic<size_t> next{0};
    std::mutex mu;
    Status first_error;
    bool fatal = false;
    auto worker = [&] {
      while (true) {
        size_t w = next.fetch_add(1);
        if (w >= work.size()) return;
        {
          std::lock_guard lock(mu);
          if (fatal) return;
        }
        Node& node = *work[w].first;
        if (request_.node_gate) request_.node_gate->Enter(node.name());
        NodeScanResult r = ScanNode(node, work[w].second, rps_per_node);
        if (request_.node_gate) request_.node_gate->Leave(node.name());
        std::lock_guard lock(mu);
        if (!r.status.ok()) {
          const bool retryable = Retryable(r.status) && !callback_failed_ && !deadline_passed_;
          if (first_error.ok() || !retryable) first_error = r.status;
          if (!retryable) fatal = true;
        }
        if (stats_) stats_->partition_retries += r.unavailable.size();
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < concurrency; ++t)
      threads.emplace_back(worker);
    if (concurrency > 0) worker();
    for (auto& t : threads)
      t.join();
    if (!first_error.ok()) return first_error;
    return missing;
  }

  NodeScanResult ScanNode(Node& node, const std::vector<size_t>& idx, uint32_t rps) {
    NodeScanResult result;
    std::string request = BuildRequest(idx, rps);
    auto conn = node.Acquire();
    if (!conn.ok()) {
      result.status = conn.status();
      return result;
    }
    auto read_timeout = request_.socket_timeout;
    if (deadline_ != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      read_timeout = std::max(std::chrono::milliseconds(1), std::min(read_timeout, left));
    }
    (*conn)->SetReadTimeout(read_timeout);
    Status st = (*conn)->WriteAll(request);
    std::set<size_t> unavailable;
    if (st.ok()) st = ReadStream(**conn, node, unavailable);
    if (!st.ok()) {
      result.status = st.WithContext("scan of " + std::to_string(idx.size()) +
                                     " partitions on node " + node.Describe());
      return result;
    }
    conn->Keep();
    result.completed = true;
    for (size_t i : idx) {
      if (unavailable.count(i)) {
        result.unavailable.push_back(i);
      } else {
        cursors_[i].done = true;
      }
    }
    return result;
  }

  std::string BuildRequest(const std::vector<size_t>& idx, uint32_t rps) {
    std::string out;
    size_t off = wire::BeginProto(out);
    wire::MsgHeader h;
    h.info1 = wire::info1::kRead | (request_.no_bins ? wire::info1::kGetNoBinData : 0) |
              (request_.compress ? wire::info1::kCompressResponse : 0);
    h.info3 = wire::info3::kPartitionDone;
    h.record_ttl = 0xFFFFFFFF;  // never read-touch
    wire::MessageBuilder b(out, h);
    b.Field(wire::FieldType::kNamespace, request_.ns);
    if (request_.sets.size() == 1) b.Field(wire::FieldType::kSet, request_.sets[0]);
    if (rps > 0) b.FieldU32(wire::FieldType::kRecordsPerSecond, rps);
    b.FieldU32(wire::FieldType::kSocketTimeout,
               static_cast<uint32_t>(request_.socket_timeout.count()));
    b.FieldU64(wire::FieldType::kTaskId, RandomTaskId());
    if (!filter_.empty()) b.Field(wire::FieldType::kFilterExpression, filter_);
    std::string pids, digests;
    for (size_t i : idx) {
      const auto& c = cursors_[i];
      if (c.has_digest) {
        digests.append(wire::DigestBytes(c.last_digest));
      } else {
        AppendU16LE(pids, c.pid);
      }
    }
    if (!pids.empty()) b.Field(wire::FieldType::kPidArray, pids);
    if (!digests.empty()) b.Field(wire::FieldType::kDigestArray, digests);
    if (!request_.no_bins) {
      for (const auto& bin : request_.bins)
        b.Op(wire::OpType::kRead, 0, bin, "");
    }
    b.Finish();
    wire::EndProto(out, off, wire::ProtoType::kMessage);
    return out;
  }

  Status ReadStream(Connection& conn, Node& node, std::set<size_t>& unavailable) {
    std::string body, inflated;
    std::string_view data;
    wire::MessageView v;
    while (true) {
      ABS_RETURN_IF_ERROR(CheckDeadline(0));
      ABS_RETURN_IF_ERROR(conn.ReadMessages(&body, &inflated, &data));
      if (stats_) {
        stats_->bytes += data.size();
        if (data.data() != body.data()) ++stats_->compressed_protos;
      }
      size_t pos = 0;
      while (pos < data.size()) {
        size_t used = 0;
        ABS_RETURN_IF_ERROR(wire::DecodeMessage(data.substr(pos), &v, &used));
        pos += used;
        const auto& mh = v.header;
        if (mh.info3 & wire::info3::kLast) {
          if (mh.result_code != wire::result::kOk && mh.result_code != wire::result::kKeyNotFound) {
            return Status::Server(mh.result_code,
                                  "scan ended with " + wire::result::Name(mh.result_code));
          }
          if (pos != data.size()) return Status::Corrupt("data after the LAST message");
          return Status::Ok();
        }
        if (mh.info3 & wire::info3::kPartitionDone) {
          if (mh.result_code != wire::result::kOk) {
            auto it = index_of_pid_.find(mh.generation);
            if (it == index_of_pid_.end()) {
              return Status::Corrupt("partition-done marker for partition " +
                                     std::to_string(mh.generation) + " that was not asked");
            }
            unavailable.insert(it->second);
          }
          continue;
        }
        if (mh.result_code != wire::result::kOk) {
          if (mh.result_code == wire::result::kKeyNotFound) continue;  // old servers: unknown set
          return Status::Server(mh.result_code,
                                "scan record with " + wire::result::Name(mh.result_code));
        }
        ABS_RETURN_IF_ERROR(Deliver(v, node));
      }
    }
  }

  Status Deliver(const wire::MessageView& v, Node& node) {
    ScanRecordView rec;
    std::string_view digest;
    for (const auto& f : v.fields) {
      switch (f.type) {
        case wire::FieldType::kNamespace:
          rec.ns = f.data;
          break;
        case wire::FieldType::kSet:
          rec.set = f.data;
          break;
        case wire::FieldType::kKey:
          rec.user_key = f.data;
          break;
        case wire::FieldType::kDigest:
          digest = f.data;
          break;
        default:
          break;
      }
    }
    if (digest.size() != wire::kDigestSize) {
      return Status::Corrupt("scan record without a 20-byte digest from node " + node.Describe());
    }
    rec.digest = reinterpret_cast<const uint8_t*>(digest.data());
    rec.partition_id = wire::PartitionIdOf(rec.digest);
    auto it = index_of_pid_.find(rec.partition_id);
    if (it == index_of_pid_.end()) {
      return Status::Corrupt("node " + node.Describe() + " sent a record of partition " +
                             std::to_string(rec.partition_id) + " that was not asked");
    }
    rec.generation = static_cast<uint16_t>(v.header.generation);
    rec.void_time = v.header.record_ttl;
    rec.bins = &v.ops;
    if (Status st = callback_(rec); !st.ok()) {
      // The caller's own failure (its storage, its cancel) is never retried as a scan:
      // what it did with the records before is its to judge, and a retry would deliver
      // this record again.
      callback_failed_ = true;
      return st;
    }
    PartitionCursor& c = cursors_[it->second];
    c.has_digest = true;
    std::memcpy(c.last_digest.data(), rec.digest, wire::kDigestSize);
    ++c.records;
    if (stats_) ++stats_->records;
    return Status::Ok();
  }

  Cluster& cluster_;
  const ScanRequest& request_;
  std::vector<PartitionCursor>& cursors_;
  const ScanCallback& callback_;
  ScanStats* stats_;
  const std::string filter_;
  std::map<uint32_t, size_t> index_of_pid_;
  std::atomic<bool> callback_failed_{false};
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  mutable std::atomic<bool> deadline_passed_{false};
};

}  // namespace

Status Client::ScanPartitions(const ScanRequest& request, std::vector<PartitionCursor>& cursors,
                              const ScanCallback& callback, ScanStats* stats) {
  if (request.ns.empty()) return Status::InvalidArgument("scan needs a namespace");
  std::set<uint16_t> seen;
  for (const auto& c : cursors) {
    if (c.pid >= wire::kPartitionCount) {
      return Status::InvalidArgument("partition " + std::to_string(c.pid) + " is not 0..4095");
    }
    if (!seen.insert(c.pid).second) {
      return Status::InvalidArgument("partition " + std::to_string(c.pid) + " given twice");
    }
  }
  PartitionScanner scanner(*cluster_, request, cursors, callback, stats);
  return scanner.Run();
}

}  // namespace absvc::client
