#include "client/client.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/bytes.h"
#include "common/log.h"
#include "wire/batch.h"
#include "wire/info.h"
#include "wire/proto.h"
#include "wire/result_code.h"

namespace absvc::client {

Key Key::FromUserKey(std::string ns, std::string set, Value user_key) {
  Key k;
  k.digest = wire::ComputeDigest(set, user_key.type, user_key.bytes);
  k.ns = std::move(ns);
  k.set = std::move(set);
  k.user_key = std::move(user_key);
  return k;
}

Key Key::FromDigest(std::string ns, std::string set, const wire::Digest& digest) {
  Key k;
  k.ns = std::move(ns);
  k.set = std::move(set);
  k.digest = digest;
  return k;
}

std::string Key::KeyField() const {
  if (!user_key) return {};
  std::string f(1, static_cast<char>(user_key->type));
  f += user_key->bytes;
  return f;
}

void BatchWriteRecord::AddBin(const Bin& bin) {
  wire::AppendOp(ops, wire::OpType::kWrite, bin.value.type, bin.name, bin.value.bytes);
  ++n_ops;
}

std::vector<PartitionCursor> CursorsForRange(uint32_t begin, uint32_t count) {
  std::vector<PartitionCursor> out;
  for (uint32_t p = begin; p < begin + count && p < wire::kPartitionCount; ++p) {
    PartitionCursor c;
    c.pid = static_cast<uint16_t>(p);
    out.push_back(c);
  }
  return out;
}

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  auto cluster = std::make_unique<Cluster>(std::move(options));
  ABS_RETURN_IF_ERROR(cluster->Connect());
  return std::unique_ptr<Client>(new Client(std::move(cluster)));
}

Client::~Client() {
  cluster_->Close();
}

Result<std::string> Client::Info(const std::string& node_name, const std::string& command) {
  auto node = cluster_->FindNode(node_name);
  if (!node) return Status::NotFound("no node " + node_name + " in the cluster");
  auto answers = node->Info({command});
  if (!answers.ok()) return answers.status().WithContext("info '" + command + "'");
  return (*answers)[command];
}

Result<std::string> Client::InfoAny(const std::string& command) {
  Status last = Status::Unavailable("no nodes");
  for (const auto& node : cluster_->Nodes()) {
    auto answers = node->Info({command});
    if (answers.ok()) return (*answers)[command];
    last = answers.status();
  }
  return last.WithContext("info '" + command + "'");
}

Result<std::map<std::string, std::string>> Client::InfoAll(const std::string& command) {
  std::map<std::string, std::string> out;
  for (const auto& node : cluster_->Nodes()) {
    auto answers = node->Info({command});
    if (!answers.ok()) return answers.status().WithContext("info '" + command + "'");
    out[node->name()] = (*answers)[command];
  }
  return out;
}

namespace {

// Report error rows, answer every key, allow inline processing (the C client's default).
constexpr uint8_t kBatchParentFlags = wire::batch_flags::kReportErrorRecord |
                                      wire::batch_flags::kRespondAllKeys |
                                      wire::batch_flags::kAllowInline;

void AddKeyFields(wire::MessageBuilder& b, const Key& key, bool send_key) {
  b.Field(wire::FieldType::kNamespace, key.ns);
  b.Field(wire::FieldType::kSet, key.set);
  b.Field(wire::FieldType::kDigest, wire::DigestBytes(key.digest));
  if (send_key && key.user_key) b.Field(wire::FieldType::kKey, key.KeyField());
}

void ApplyWritePolicy(wire::MsgHeader& h, RecordExistsAction exists, GenerationPolicy gen,
                      uint32_t generation, uint32_t ttl, bool durable_delete) {
  switch (exists) {
    case RecordExistsAction::kUpdate:
      break;
    case RecordExistsAction::kUpdateOnly:
      h.info3 |= wire::info3::kUpdateOnly;
      break;
    case RecordExistsAction::kReplace:
      h.info3 |= wire::info3::kCreateOrReplace;
      break;
    case RecordExistsAction::kReplaceOnly:
      h.info3 |= wire::info3::kReplaceOnly;
      break;
    case RecordExistsAction::kCreateOnly:
      h.info2 |= wire::info2::kCreateOnly;
      break;
  }
  if (gen == GenerationPolicy::kExpectEqual) h.info2 |= wire::info2::kGeneration;
  if (gen == GenerationPolicy::kExpectGreater) h.info2 |= wire::info2::kGenerationGt;
  if (gen != GenerationPolicy::kNone) h.generation = generation;
  h.record_ttl = ttl;
  if (durable_delete) h.info2 |= wire::info2::kDurableDelete;
}

std::string Frame(std::string msg) {
  std::string out;
  size_t off = wire::BeginProto(out);
  out += msg;
  wire::EndProto(out, off, wire::ProtoType::kMessage);
  return out;
}

Record RecordFrom(const Key& key, const wire::MessageView& v) {
  Record r;
  r.key = key;
  r.generation = static_cast<uint16_t>(v.header.generation);
  r.void_time = v.header.record_ttl;
  for (const auto& op : v.ops) {
    r.bins.push_back({std::string(op.name), Value{op.particle_type, std::string(op.value)}});
  }
  return r;
}

// The answer to a single-record command: the record, kNotFound (kKeyNotFound) when
// there is none, or the server's error.
Result<Record> DecodeRecordAnswer(const Key& key, std::string_view body, const char* what) {
  wire::MessageView v;
  size_t used;
  ABS_RETURN_IF_ERROR(wire::DecodeMessage(body, &v, &used));
  int code = v.header.result_code;
  if (code == wire::result::kKeyNotFound) {
    return Status(StatusCode::kNotFound, std::string(what) + ": record not found", code);
  }
  if (code != wire::result::kOk)
    return Status::Server(code, std::string(what) + ": " + wire::result::Name(code));
  return RecordFrom(key, v);
}

bool Retryable(const Status& st) {
  return st.code() == StatusCode::kNetwork || st.code() == StatusCode::kTimeout ||
         st.code() == StatusCode::kUnavailable;
}

}  // namespace

Result<std::string> Client::KeyCommand(const Key& key, const std::string& message, bool write,
                                       std::chrono::milliseconds timeout, int max_retries,
                                       const char* what) {
  const std::string request = Frame(message);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Status last;
  for (int attempt = 0; attempt <= max_retries; ++attempt) {
    if (attempt > 0) {
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
      (void)cluster_->TendNow();
    }
    auto table = cluster_->partitions();
    std::shared_ptr<Node> node =
        write ? table->Master(key.ns, key.partition_id())
              : table->ReadNode(key.ns, key.partition_id(), cluster_->options().prefer_racks);
    if (!node) {
      if (!table->namespaces.count(key.ns)) {
        return Status::Server(wire::result::kNamespaceNotFound,
                              std::string(what) + " " + key.ns + ": namespace not found");
      }
      last = Status::Unavailable(std::string(what) + ": no node holds partition " +
                                 std::to_string(key.partition_id()));
      continue;
    }
    auto conn = node->Acquire();
    if (!conn.ok()) {
      last = conn.status();
      continue;
    }
    wire::ProtoHeader h;
    std::string body;
    Status st = (*conn)->Exchange(request, &h, &body);
    if (st.ok() && h.type == wire::ProtoType::kCompressed) {
      auto inner = wire::DecompressMessageBody(body);
      if (inner.ok()) {
        body = inner->substr(wire::kProtoHeaderSize);
      } else {
        st = inner.status();
      }
    } else if (st.ok() && h.type != wire::ProtoType::kMessage) {
      st = Status::Corrupt("answer of proto type " + std::to_string(static_cast<int>(h.type)));
    }
    if (!st.ok()) {
      last = st.WithContext(std::string(what) + " on node " + node->Describe());
      if (!Retryable(st)) return last;
      continue;
    }
    conn->Keep();
    return body;
  }
  return last.ok() ? Status::Timeout(std::string(what) + " timed out") : last;
}

Status Client::Put(const Key& key, const std::vector<Bin>& bins, const WritePolicy& p) {
  BatchWriteRecord row;
  row.key = key;
  row.exists = p.exists;
  row.generation_policy = p.generation_policy;
  row.generation = p.generation;
  row.ttl = p.ttl;
  row.send_key = p.send_key;
  for (const auto& bin : bins)
    row.AddBin(bin);
  ABS_RETURN_IF_ERROR(Write(row, p));
  if (row.result == wire::result::kOk) return Status::Ok();
  if (row.result == wire::result::kKeyNotFound) {
    return Status(StatusCode::kNotFound, "put: record not found", row.result);
  }
  return Status::Server(row.result,
                        "put " + key.ns + "/" + key.set + ": " + wire::result::Name(row.result));
}

Status Client::Write(BatchWriteRecord& row, const WritePolicy& p) {
  std::string msg;
  wire::MsgHeader h;
  h.info2 = wire::info2::kWrite;
  ApplyWritePolicy(h, row.exists, row.generation_policy, row.generation, row.ttl, p.durable_delete);
  h.transaction_ttl = static_cast<uint32_t>(p.total_timeout.count());
  wire::MessageBuilder b(msg, h);
  AddKeyFields(b, row.key, row.send_key);
  if (!p.filter.empty()) b.Field(wire::FieldType::kFilterExpression, p.filter);
  b.RawOps(row.ops, row.n_ops);
  b.Finish();
  auto body = KeyCommand(row.key, msg, true, p.total_timeout, p.max_retries, "write");
  if (!body.ok()) {
    // The cluster's own refusal (a namespace it does not have) is the row's answer.
    if (body.status().code() != StatusCode::kServer) return body.status();
    row.result = body.status().server_code();
    return Status::Ok();
  }
  wire::MessageView v;
  size_t used;
  ABS_RETURN_IF_ERROR(wire::DecodeMessage(*body, &v, &used));
  row.result = v.header.result_code;
  return Status::Ok();
}

Result<Record> Client::Get(const Key& key, const std::vector<std::string>& bins,
                           const ReadPolicy& p) {
  std::string msg;
  wire::MsgHeader h;
  h.info1 = wire::info1::kRead | (bins.empty() ? wire::info1::kGetAll : 0);
  h.transaction_ttl = static_cast<uint32_t>(p.total_timeout.count());
  wire::MessageBuilder b(msg, h);
  AddKeyFields(b, key, false);
  if (!p.filter.empty()) b.Field(wire::FieldType::kFilterExpression, p.filter);
  for (const auto& name : bins)
    b.Op(wire::OpType::kRead, 0, name, "");
  b.Finish();
  ABS_ASSIGN_OR_RETURN(std::string body,
                       KeyCommand(key, msg, false, p.total_timeout, p.max_retries, "get"));
  return DecodeRecordAnswer(key, body, "get");
}

Result<Record> Client::GetHeader(const Key& key, const ReadPolicy& p) {
  std::string msg;
  wire::MsgHeader h;
  h.info1 = wire::info1::kRead | wire::info1::kGetNoBinData;
  wire::MessageBuilder b(msg, h);
  AddKeyFields(b, key, false);
  b.Finish();
  ABS_ASSIGN_OR_RETURN(std::string body,
                       KeyCommand(key, msg, false, p.total_timeout, p.max_retries, "exists"));
  return DecodeRecordAnswer(key, body, "exists");
}

Result<bool> Client::Delete(const Key& key, const WritePolicy& p) {
  std::string msg;
  wire::MsgHeader h;
  h.info2 = wire::info2::kWrite | wire::info2::kDelete;
  ApplyWritePolicy(h, RecordExistsAction::kUpdate, p.generation_policy, p.generation, 0,
                   p.durable_delete);
  wire::MessageBuilder b(msg, h);
  AddKeyFields(b, key, false);
  b.Finish();
  ABS_ASSIGN_OR_RETURN(std::string body,
                       KeyCommand(key, msg, true, p.total_timeout, p.max_retries, "delete"));
  auto answer = DecodeRecordAnswer(key, body, "delete");
  if (answer.ok()) return true;
  if (answer.status().code() == StatusCode::kNotFound) return false;
  return answer.status();
}

Status Client::Touch(const Key& key, const WritePolicy& p) {
  auto r = Operate(key, {{wire::OpType::kTouch, "", Value::Nil()}}, p);
  return r.ok() ? Status::Ok() : r.status();
}

Result<Record> Client::Operate(const Key& key, const std::vector<Operation>& ops,
                               const WritePolicy& p) {
  std::string msg;
  wire::MsgHeader h;
  bool reads = false, writes = false;
  for (const auto& op : ops) {
    if (op.op == wire::OpType::kRead) {
      reads = true;
      if (op.name.empty()) h.info1 |= wire::info1::kGetAll;
    } else {
      writes = true;
    }
  }
  if (reads) h.info1 |= wire::info1::kRead;
  if (writes) {
    h.info2 |= wire::info2::kWrite;
    ApplyWritePolicy(h, p.exists, p.generation_policy, p.generation, p.ttl, p.durable_delete);
  }
  wire::MessageBuilder b(msg, h);
  AddKeyFields(b, key, writes && p.send_key);
  if (!p.filter.empty()) b.Field(wire::FieldType::kFilterExpression, p.filter);
  for (const auto& op : ops)
    b.Op(op.op, op.value.type, op.name, op.value.bytes);
  b.Finish();
  ABS_ASSIGN_OR_RETURN(std::string body,
                       KeyCommand(key, msg, writes, p.total_timeout, p.max_retries, "operate"));
  return DecodeRecordAnswer(key, body, "operate");
}

namespace {

// Reads a multi-record answer (batch) until LAST; calls `on_message` for every message.
Status ReadUntilLast(Connection& conn,
                     const std::function<Status(const wire::MessageView&)>& on_message) {
  std::string body, inflated;
  std::string_view data;
  wire::MessageView v;
  while (true) {
    ABS_RETURN_IF_ERROR(conn.ReadMessages(&body, &inflated, &data));
    size_t pos = 0;
    while (pos < data.size()) {
      size_t used = 0;
      ABS_RETURN_IF_ERROR(wire::DecodeMessage(data.substr(pos), &v, &used));
      pos += used;
      if (v.header.info3 & wire::info3::kLast) {
        if (v.header.result_code != wire::result::kOk) {
          return Status::Server(v.header.result_code, wire::result::Name(v.header.result_code));
        }
        return Status::Ok();
      }
      ABS_RETURN_IF_ERROR(on_message(v));
    }
  }
}

// Splits each node's rows into requests of at most `batch_size` rows and runs them with
// at most `max_outstanding` in flight; returns the first error.
template <typename Work>
Status RunBatchRequests(const std::map<std::shared_ptr<Node>, std::vector<size_t>>& groups,
                        size_t batch_size, size_t max_outstanding, Work work) {
  std::vector<std::pair<std::shared_ptr<Node>, std::vector<size_t>>> requests;
  batch_size = std::max<size_t>(1, batch_size);
  for (const auto& [node, idx] : groups) {
    for (size_t start = 0; start < idx.size(); start += batch_size) {
      size_t end = std::min(idx.size(), start + batch_size);
      requests.emplace_back(node, std::vector<size_t>(idx.begin() + static_cast<long>(start),
                                                      idx.begin() + static_cast<long>(end)));
    }
  }
  std::vector<Status> results(requests.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < requests.size(); i = next.fetch_add(1)) {
      results[i] = work(requests[i].first, requests[i].second);
    }
  };
  size_t threads_wanted = std::min(std::max<size_t>(1, max_outstanding), requests.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < threads_wanted; ++t)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads)
    t.join();
  for (const auto& st : results) {
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

Status Client::BatchWrite(std::span<BatchWriteRecord> records, const BatchPolicy& policy) {
  std::vector<size_t> pending(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    pending[i] = i;
  Status last;
  for (int attempt = 0; attempt <= policy.max_retries && !pending.empty(); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      (void)cluster_->TendNow();
    }
    auto table = cluster_->partitions();
    std::map<std::shared_ptr<Node>, std::vector<size_t>> groups;
    std::vector<size_t> unrouted;
    for (size_t i : pending) {
      auto node = table->Master(records[i].key.ns, records[i].key.partition_id());
      if (node) {
        groups[node].push_back(i);
      } else if (!table->namespaces.count(records[i].key.ns)) {
        // A namespace the cluster does not have is its answer, not a routing failure to
        // retry.
        records[i].result = wire::result::kNamespaceNotFound;
      } else {
        unrouted.push_back(i);
      }
    }
    std::mutex failed_mu;
    std::vector<size_t> failed = unrouted;
    if (!unrouted.empty()) last = Status::Unavailable("batch write: no node holds some partitions");
    Status fatal = RunBatchRequests(
        groups, policy.batch_size, policy.max_outstanding,
        [&](const std::shared_ptr<Node>& node, const std::vector<size_t>& idx) -> Status {
          std::vector<wire::BatchRowSpec> rows(idx.size());
          std::vector<std::string> keys(idx.size());
          for (size_t r = 0; r < idx.size(); ++r) {
            const auto& rec = records[idx[r]];
            auto& row = rows[r];
            row.index = static_cast<uint32_t>(r);
            row.digest = rec.key.digest;
            row.header.info2 = wire::info2::kWrite | wire::info2::kRespondAllOps;
            ApplyWritePolicy(row.header, rec.exists, rec.generation_policy, rec.generation, rec.ttl,
                             false);
            row.ns = rec.key.ns;
            row.set = rec.key.set;
            if (rec.send_key) {
              keys[r] = rec.key.KeyField();
              row.key = keys[r];
            }
            row.encoded_ops = rec.ops;
            row.n_ops = rec.n_ops;
          }
          std::string msg;
          wire::MsgHeader h;
          h.info1 = wire::info1::kBatch;
          h.transaction_ttl = static_cast<uint32_t>(policy.total_timeout.count());
          wire::MessageBuilder b(msg, h);
          if (!policy.filter.empty()) b.Field(wire::FieldType::kFilterExpression, policy.filter);
          b.BeginField(wire::FieldType::kBatchIndex);
          wire::EncodeBatchIndex(kBatchParentFlags, rows, msg);
          b.EndField();
          b.Finish();
          auto conn = node->Acquire();
          Status st = conn.ok() ? (*conn)->WriteAll(Frame(std::move(msg))) : conn.status();
          if (st.ok()) {
            st = ReadUntilLast(**conn, [&](const wire::MessageView& v) -> Status {
              uint32_t row = v.header.transaction_ttl;
              if (row >= idx.size()) {
                return Status::Corrupt("batch answer for row " + std::to_string(row) + " of " +
                                       std::to_string(idx.size()));
              }
              records[idx[row]].result = v.header.result_code;
              return Status::Ok();
            });
          }
          if (st.ok()) {
            conn->Keep();
            return Status::Ok();
          }
          st = st.WithContext("batch write of " + std::to_string(idx.size()) + " records on node " +
                              node->Describe());
          if (!Retryable(st)) return st;
          std::lock_guard lock(failed_mu);
          failed.insert(failed.end(), idx.begin(), idx.end());
          last = st;
          return Status::Ok();
        });
    if (!fatal.ok()) return fatal;
    pending = std::move(failed);
  }
  if (!pending.empty()) return last;
  return Status::Ok();
}

Status Client::BatchRead(std::vector<BatchReadRecord>& records, const BatchPolicy& policy) {
  auto table = cluster_->partitions();
  std::map<std::shared_ptr<Node>, std::vector<size_t>> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    auto node = table->ReadNode(records[i].key.ns, records[i].key.partition_id(),
                                cluster_->options().prefer_racks);
    if (!node)
      return Status::Unavailable("batch read: no node holds partition " +
                                 std::to_string(records[i].key.partition_id()));
    groups[node].push_back(i);
  }
  return RunBatchRequests(
      groups, policy.batch_size, policy.max_outstanding,
      [&](const std::shared_ptr<Node>& node, const std::vector<size_t>& idx) -> Status {
        std::vector<wire::BatchRowSpec> rows(idx.size());
        std::vector<std::string> ops(idx.size());
        for (size_t r = 0; r < idx.size(); ++r) {
          const auto& rec = records[idx[r]];
          auto& row = rows[r];
          row.index = static_cast<uint32_t>(r);
          row.digest = rec.key.digest;
          row.header.info1 = wire::info1::kRead | (rec.bins.empty() ? wire::info1::kGetAll : 0);
          row.ns = rec.key.ns;
          row.set = rec.key.set;
          for (const auto& name : rec.bins)
            wire::AppendOp(ops[r], wire::OpType::kRead, 0, name, "");
          row.encoded_ops = ops[r];
          row.n_ops = static_cast<uint16_t>(rec.bins.size());
        }
        std::string msg;
        wire::MsgHeader h;
        h.info1 = wire::info1::kBatch;
        wire::MessageBuilder b(msg, h);
        b.BeginField(wire::FieldType::kBatchIndex);
        wire::EncodeBatchIndex(kBatchParentFlags, rows, msg);
        b.EndField();
        b.Finish();
        ABS_ASSIGN_OR_RETURN(PooledConnection conn, node->Acquire());
        ABS_RETURN_IF_ERROR(conn->WriteAll(Frame(std::move(msg))));
        Status st = ReadUntilLast(*conn, [&](const wire::MessageView& v) -> Status {
          uint32_t row = v.header.transaction_ttl;
          if (row >= idx.size()) return Status::Corrupt("batch answer for an unknown row");
          auto& rec = records[idx[row]];
          rec.result = v.header.result_code;
          if (v.header.result_code == wire::result::kOk) rec.record = RecordFrom(rec.key, v);
          return Status::Ok();
        });
        if (!st.ok()) return st.WithContext("batch read on node " + node->Describe());
        conn.Keep();
        return Status::Ok();
      });
}

Status Client::Truncate(const std::string& ns, const std::string& set, int64_t before_nanos) {
  std::string cmd = set.empty() ? "truncate-namespace:namespace=" + ns
                                : "truncate:namespace=" + ns + ";set=" + set;
  if (before_nanos > 0) cmd += ";lut=" + std::to_string(before_nanos);
  ABS_ASSIGN_OR_RETURN(std::string answer, InfoAny(cmd));
  if (auto err = wire::ParseInfoError(answer)) {
    return Status::Server(err->code,
                          "truncate " + ns + (set.empty() ? "" : "/" + set) + ": " + err->message);
  }
  return Status::Ok();
}

}  // namespace absvc::client
