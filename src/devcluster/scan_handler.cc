// Partition scans and queries: walk each requested partition in descending digest order,
// resume strictly after a given digest, filter by set, expression and (for queries) the
// index range, and stream records in protos of about 1 MiB, ending with LAST.
#include <chrono>
#include <optional>
#include <thread>

#include "common/bytes.h"
#include "common/cltime.h"
#include "common/log.h"
#include "devcluster/cluster.h"
#include "devcluster/handlers.h"
#include "devcluster/tls.h"
#include "wire/particle.h"
#include "wire/proto.h"
#include "wire/result_code.h"

namespace absvc::devcluster {

using wire::FieldType;

namespace {

constexpr size_t kFlushBytes = 1 << 20;
constexpr size_t kRecordsPerLock = 256;

struct PartitionTask {
  uint32_t pid;
  std::optional<wire::Digest> resume_after;
};

// A secondary-index filter (field 22), evaluated on the bin directly: the devcluster
// keeps no index, so a query is a filtered scan with the same results.
struct IndexRange {
  std::string bin;
  uint8_t particle_type = 0;
  std::string begin, end;

  bool Matches(const StoredRecord& r) const {
    uint8_t type;
    std::string_view value;
    if (!FindStoredBin(r, bin, &type, &value) || type != particle_type) return false;
    if (type == wire::ToByte(wire::ParticleType::kInteger)) {
      if (value.size() != 8 || begin.size() != 8 || end.size() != 8) return false;
      int64_t v = wire::DecodeInteger(value);
      return v >= wire::DecodeInteger(begin) && v <= wire::DecodeInteger(end);
    }
    return value == begin;
  }
};

std::optional<IndexRange> ParseIndexRange(std::string_view data) {
  ByteReader r(data);
  uint8_t count = r.U8();
  if (count != 1) return std::nullopt;
  IndexRange range;
  uint8_t name_len = r.U8();
  range.bin = std::string(r.Bytes(name_len));
  range.particle_type = r.U8();
  range.begin = std::string(r.Bytes(r.U32BE()));
  range.end = std::string(r.Bytes(r.U32BE()));
  if (!r.ok()) return std::nullopt;
  return range;
}

class ScanStream {
 public:
  explicit ScanStream(RequestContext& ctx) : ctx_(ctx) { Begin(); }
  // The client asked for compressed answers: each proto goes out zlib-compressed, as an
  // Enterprise server sends them.
  void CompressAnswers() { compress_ = true; }

  std::string& buffer() { return out_; }
  // Flushes when the proto holds about 1 MiB.
  Status MaybeFlush() {
    if (out_.size() - proto_offset_ < kFlushBytes) return Status::Ok();
    return Flush();
  }
  Status Flush() {
    if (out_.size() - proto_offset_ == wire::kProtoHeaderSize) return Status::Ok();  // never empty
    wire::EndProto(out_, proto_offset_, wire::ProtoType::kMessage);
    if (compress_) out_ = wire::CompressMessage(out_, 1);
    Status st = ctx_.conn.WriteAll(out_);
    out_.clear();
    Begin();
    return st;
  }
  Status Finish(uint8_t result_code) {
    AppendResultMessage(out_, result_code, wire::info3::kLast);
    return Flush();
  }

 private:
  void Begin() { proto_offset_ = wire::BeginProto(out_); }
  RequestContext& ctx_;
  std::string out_;
  size_t proto_offset_ = 0;
  bool compress_ = false;
};

}  // namespace

Status HandleScan(RequestContext& ctx, const wire::MessageView& msg) {
  ctx.cluster.scans_started.fetch_add(1);
  ScanStream stream(ctx);
  const auto& h = msg.header;
  if (h.info1 & wire::info1::kCompressResponse) stream.CompressAnswers();
  std::string_view ns_name = msg.FieldData(FieldType::kNamespace);
  NamespaceStore* store = ctx.cluster.FindNamespace(ns_name);
  if (!store) return stream.Finish(wire::result::kNamespaceNotFound);
  if (h.info2 & wire::info2::kWrite)
    return stream.Finish(wire::result::kUnsupportedFeature);  // background scans: not served
  if (!(h.info3 & wire::info3::kPartitionDone))
    return stream.Finish(wire::result::kUnsupportedFeature);

  std::vector<PartitionTask> tasks;
  std::string_view pids = msg.FieldData(FieldType::kPidArray);
  std::string_view digests = msg.FieldData(FieldType::kDigestArray);
  if (pids.size() % 2 != 0 || digests.size() % wire::kDigestSize != 0)
    return stream.Finish(wire::result::kParameterError);
  for (size_t i = 0; i < pids.size(); i += 2) {
    uint16_t pid = LoadU16LE(pids.data() + i);
    if (pid >= wire::kPartitionCount) return stream.Finish(wire::result::kParameterError);
    tasks.push_back({pid, std::nullopt});
  }
  for (size_t i = 0; i < digests.size(); i += wire::kDigestSize) {
    wire::Digest d = wire::DigestFromBytes(digests.substr(i, wire::kDigestSize));
    tasks.push_back({wire::PartitionIdOf(d), d});
  }
  if (tasks.empty()) return stream.Finish(wire::result::kUnsupportedFeature);

  std::string_view set = msg.FieldData(FieldType::kSet);
  uint64_t max_records = 0;
  if (auto f = msg.Find(FieldType::kMaxRecords); f && f->data.size() == 8) {
    max_records = LoadU64BE(f->data.data());
  }
  uint32_t rps = 0;
  if (auto f = msg.Find(FieldType::kRecordsPerSecond); f && f->data.size() == 4) {
    rps = LoadU32BE(f->data.data());
  }
  std::optional<Result<wire::Expression>> filter;
  if (auto f = msg.Find(FieldType::kFilterExpression)) {
    filter.emplace(wire::Expression::Parse(f->data));
    if (!filter->ok()) return stream.Finish(wire::result::kParameterError);
  }
  std::optional<IndexRange> index_range;
  if (auto f = msg.Find(FieldType::kIndexRange)) {
    index_range = ParseIndexRange(f->data);
    if (!index_range) return stream.Finish(wire::result::kParameterError);
  }
  const bool no_bins = (h.info1 & wire::info1::kGetNoBinData) != 0;
  std::vector<std::string_view> bin_names;
  for (const auto& op : msg.ops) {
    if (op.op == wire::OpType::kRead && !op.name.empty()) bin_names.push_back(op.name);
  }

  int64_t drop_after = ctx.cluster.faults(ctx.node).drop_scan_after.exchange(-1);
  auto view = ctx.cluster.view();
  const PartitionMap& map = view->maps.at(store->config().name);
  const uint32_t now = CitrusleafNowSeconds();
  const auto started = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  std::string& out = stream.buffer();

  for (const auto& task : tasks) {
    if (map.ReplicaIndex(task.pid, ctx.node) < 0) {
      // Not ours: a partition-done marker with result UNAVAILABLE.
      AppendResultMessage(out, wire::result::kPartitionUnavailable, wire::info3::kPartitionDone,
                          task.pid);
      continue;
    }
    StorePartition& part = store->partition(task.pid);
    std::optional<wire::Digest> cursor = task.resume_after;
    bool partition_done = false;
    while (!partition_done) {
      size_t taken = 0;
      {
        std::shared_lock lock(part.mu);
        auto it = cursor ? part.records.upper_bound(*cursor) : part.records.begin();
        for (; it != part.records.end() && taken < kRecordsPerLock; ++it, ++taken) {
          cursor = it->first;
          const StoredRecord& r = it->second;
          if (r.ExpiredAt(now)) continue;
          if (!set.empty() && r.set != set) continue;
          if (filter && !filter->value().Matches(MakeExpRecord(it->first, r, now))) continue;
          if (index_range && !index_range->Matches(r)) continue;
          const size_t message_start = out.size();
          wire::MsgHeader rh;
          rh.info1 = no_bins ? wire::info1::kGetNoBinData : 0;
          rh.generation = r.generation;
          rh.record_ttl = r.void_time;
          wire::MessageBuilder b(out, rh);
          b.Field(FieldType::kNamespace, ns_name);
          b.Field(FieldType::kDigest, wire::DigestBytes(it->first));
          if (!r.set.empty()) b.Field(FieldType::kSet, r.set);
          if (!r.key.empty()) b.Field(FieldType::kKey, r.key);
          if (!no_bins) {
            if (bin_names.empty()) {
              b.RawOps(r.bins, r.n_bins);
            } else {
              uint16_t found = 0;
              for (auto name : bin_names) {
                uint8_t type;
                std::string_view value;
                if (FindStoredBin(r, name, &type, &value)) {
                  b.Op(wire::OpType::kRead, type, name, value);
                  ++found;
                }
              }
              if (found == 0) {
                // A record with none of the selected bins is skipped: drop what we wrote.
                out.resize(message_start);
                continue;
              }
            }
          }
          b.Finish();
          ++sent;
          if (max_records && sent >= max_records) break;
          if (drop_after >= 0 && sent >= static_cast<uint64_t>(drop_after)) break;
        }
        if (it == part.records.end()) partition_done = true;
      }
      if (drop_after >= 0 && sent >= static_cast<uint64_t>(drop_after)) {
        (void)stream.Flush();
        ABS_LOG_INFO("node {}: dropping scan connection after {} records (fault)", ctx.node, sent);
        ctx.conn.Shutdown();
        return Status::Network("scan dropped by fault injection");
      }
      if (max_records && sent >= max_records) return stream.Finish(wire::result::kOk);
      if (rps > 0) {
        auto due = started + std::chrono::microseconds(sent * 1000000 / rps);
        if (due > std::chrono::steady_clock::now()) {
          ABS_RETURN_IF_ERROR(stream.Flush());
          std::this_thread::sleep_until(due);
        }
      }
      ABS_RETURN_IF_ERROR(stream.MaybeFlush());
    }
  }
  return stream.Finish(wire::result::kOk);
}

}  // namespace absvc::devcluster
