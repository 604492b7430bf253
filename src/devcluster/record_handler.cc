// Single-record commands (get, put, delete, touch, operate) and the message and admin
// dispatch of a devcluster node.
#include <cmath>
#include <cstring>

#include "common/bytes.h"
#include "common/cltime.h"
#include "devcluster/cluster.h"
#include "devcluster/handlers.h"
#include "devcluster/node_server.h"
#include "devcluster/tls.h"
#include "wire/admin.h"
#include "wire/particle.h"
#include "wire/proto.h"
#include "wire/result_code.h"

namespace absvc::devcluster {

using wire::FieldType;
using wire::MsgHeader;
using wire::OpType;
using wire::OpView;
using wire::ParticleType;

namespace result = wire::result;

void AppendResultMessage(std::string& out, uint8_t result_code, uint8_t info3, uint32_t generation,
                         uint32_t transaction_ttl) {
  MsgHeader h;
  h.result_code = result_code;
  h.info3 = info3;
  h.generation = generation;
  h.transaction_ttl = transaction_ttl;
  char buf[wire::kMsgHeaderSize];
  wire::EncodeMsgHeader(h, buf);
  out.append(buf, sizeof buf);
}

namespace {

struct Bin {
  std::string name;
  uint8_t type;
  std::string value;
};

void DecodeBins(const StoredRecord& r, std::vector<Bin>& bins) {
  bins.clear();
  size_t pos = 0;
  const std::string& b = r.bins;
  while (pos + 8 <= b.size()) {
    uint32_t size = LoadU32BE(b.data() + pos);
    uint8_t type = static_cast<uint8_t>(b[pos + 5]);
    uint8_t name_len = static_cast<uint8_t>(b[pos + 7]);
    bins.push_back(
        {b.substr(pos + 8, name_len), type, b.substr(pos + 8 + name_len, size - 4 - name_len)});
    pos += 4 + size;
  }
}

void EncodeBins(const std::vector<Bin>& bins, StoredRecord& r) {
  r.bins.clear();
  r.n_bins = 0;
  for (const auto& bin : bins) {
    wire::AppendOp(r.bins, OpType::kRead, bin.type, bin.name, bin.value);
    ++r.n_bins;
  }
}

Bin* FindBin(std::vector<Bin>& bins, std::string_view name) {
  for (auto& b : bins) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

bool FindEncodedBin(const void* ctx, std::string_view name, uint8_t* type,
                    std::string_view* value) {
  const std::string& b = *static_cast<const std::string*>(ctx);
  size_t pos = 0;
  while (pos + 8 <= b.size()) {
    uint32_t size = LoadU32BE(b.data() + pos);
    uint8_t name_len = static_cast<uint8_t>(b[pos + 7]);
    if (std::string_view(b.data() + pos + 8, name_len) == name) {
      *type = static_cast<uint8_t>(b[pos + 5]);
      *value = std::string_view(b.data() + pos + 8 + name_len, size - 4 - name_len);
      return true;
    }
    pos += 4 + size;
  }
  return false;
}

}  // namespace

bool FindStoredBin(const StoredRecord& record, std::string_view name, uint8_t* particle_type,
                   std::string_view* value) {
  return FindEncodedBin(&record.bins, name, particle_type, value);
}

wire::ExpRecord MakeExpRecord(const wire::Digest& digest, const StoredRecord& r, uint32_t now_cl) {
  wire::ExpRecord e;
  e.last_update_unix_ns = CitrusleafMillisToUnixNanos(r.lut_ms);
  e.void_time_unix_ns = r.void_time == 0 ? -1 : VoidTimeToUnixNanos(r.void_time);
  e.ttl_seconds = r.void_time == 0 ? -1 : (r.void_time > now_cl ? r.void_time - now_cl : 1);
  uint64_t now_ms = CitrusleafNowMillis();
  e.since_update_ms = now_ms > r.lut_ms ? static_cast<int64_t>(now_ms - r.lut_ms) : 0;
  e.set_name = r.set;
  e.digest = digest.data();
  e.key = r.key;
  e.record_size = static_cast<int64_t>(r.bins.size() + r.key.size() + 64);
  e.find_bin = FindEncodedBin;
  e.bin_context = &r.bins;
  return e;
}

namespace {

// Computes the new void time for a write; returns a result code on failure.
uint8_t ComputeVoidTime(uint32_t ttl, bool exists, uint32_t existing_void,
                        const NamespaceConfig& cfg, uint32_t now, uint32_t* void_time) {
  constexpr uint32_t kNeverExpire = 0xFFFFFFFF, kDontUpdate = 0xFFFFFFFE;
  constexpr uint32_t kMaxTtl = 315360000;
  if (ttl == kNeverExpire) {
    *void_time = 0;
    return result::kOk;
  }
  if (ttl == kDontUpdate && exists) {
    *void_time = existing_void;
    return result::kOk;
  }
  if (ttl == 0 || ttl == kDontUpdate) ttl = cfg.default_ttl;
  if (ttl > kMaxTtl) return result::kParameterError;
  if (ttl != 0 && cfg.nsup_period == 0) return result::kForbidden;
  *void_time = ttl == 0 ? 0 : now + ttl;
  return result::kOk;
}

uint8_t ApplyModify(Bin* bin, std::vector<Bin>& bins, const OpView& op) {
  if (op.name.size() > wire::kMaxBinNameLength) return result::kBinNameError;
  if (op.op == OpType::kIncr) {
    if (op.particle_type == wire::ToByte(ParticleType::kInteger) && op.value.size() == 8) {
      int64_t add = wire::DecodeInteger(op.value);
      if (!bin) {
        bins.push_back({std::string(op.name), op.particle_type, std::string(op.value)});
        return result::kOk;
      }
      if (bin->type != op.particle_type) return result::kIncompatibleBinType;
      int64_t v = static_cast<int64_t>(static_cast<uint64_t>(wire::DecodeInteger(bin->value)) +
                                       static_cast<uint64_t>(add));
      bin->value = wire::EncodeInteger(v);
      return result::kOk;
    }
    if (op.particle_type == wire::ToByte(ParticleType::kFloat) && op.value.size() == 8) {
      double add = wire::DecodeFloat(op.value);
      if (!bin) {
        bins.push_back({std::string(op.name), op.particle_type, std::string(op.value)});
        return result::kOk;
      }
      if (bin->type != op.particle_type) return result::kIncompatibleBinType;
      bin->value = wire::EncodeFloat(wire::DecodeFloat(bin->value) + add);
      return result::kOk;
    }
    return result::kParameterError;
  }
  // APPEND / PREPEND: strings and blobs.
  bool textual =
      op.particle_type == wire::ToByte(ParticleType::kString) || wire::IsBlobType(op.particle_type);
  if (!textual) return result::kParameterError;
  if (!bin) {
    bins.push_back({std::string(op.name), op.particle_type, std::string(op.value)});
    return result::kOk;
  }
  if (bin->type != op.particle_type) return result::kIncompatibleBinType;
  if (op.op == OpType::kAppend) {
    bin->value.append(op.value);
  } else {
    bin->value.insert(0, op.value);
  }
  return result::kOk;
}

struct ResponseOp {
  std::string name;
  uint8_t type;
  std::string value;
};

void AppendRecordResponse(std::string& out, uint8_t result_code, uint8_t info1, uint32_t generation,
                          uint32_t void_time, uint32_t index, const std::vector<ResponseOp>& ops,
                          const StoredRecord* all_bins) {
  MsgHeader h;
  h.info1 = info1;
  h.result_code = result_code;
  h.generation = generation;
  h.record_ttl = void_time;
  h.transaction_ttl = index;
  wire::MessageBuilder b(out, h);
  for (const auto& op : ops)
    b.Op(OpType::kRead, op.type, op.name, op.value);
  if (all_bins) b.RawOps(all_bins->bins, all_bins->n_bins);
  b.Finish();
}

}  // namespace

void ExecuteRecordCommand(DevCluster& cluster, const RecordRequest& req, uint32_t index,
                          std::string& out) {
  const MsgHeader& h = req.header;
  NamespaceStore* store = cluster.FindNamespace(req.ns);
  if (!store) return AppendResultMessage(out, result::kNamespaceNotFound, 0, 0, index);
  const auto& ops = *req.ops;
  const uint32_t now = CitrusleafNowSeconds();
  const uint32_t pid = wire::PartitionIdOf(req.digest);
  StorePartition& part = store->partition(pid);
  const bool is_write = (h.info2 & wire::info2::kWrite) != 0;

  if (!is_write) {
    std::shared_lock lock(part.mu);
    auto it = part.records.find(req.digest);
    if (it == part.records.end() || it->second.ExpiredAt(now)) {
      return AppendResultMessage(out, result::kKeyNotFound, 0, 0, index);
    }
    const StoredRecord& r = it->second;
    if (req.filter && !req.filter->Matches(MakeExpRecord(req.digest, r, now))) {
      return AppendResultMessage(out, result::kFilteredOut, 0, 0, index);
    }
    if (h.info1 & wire::info1::kGetNoBinData) {
      return AppendRecordResponse(out, result::kOk, 0, r.generation, r.void_time, index, {},
                                  nullptr);
    }
    bool all = (h.info1 & wire::info1::kGetAll) != 0 || ops.empty();
    std::vector<ResponseOp> selected;
    for (const auto& op : ops) {
      if (op.op != OpType::kRead) {
        return AppendResultMessage(out, result::kParameterError, 0, 0, index);
      }
      if (op.name.empty()) {
        all = true;
        continue;
      }
      uint8_t type;
      std::string_view value;
      if (FindEncodedBin(&r.bins, op.name, &type, &value)) {
        selected.push_back({std::string(op.name), type, std::string(value)});
      }
    }
    if (all) selected.clear();
    return AppendRecordResponse(out, result::kOk, 0, r.generation, r.void_time, index, selected,
                                all ? &r : nullptr);
  }

  // Writes: validate the request before taking the lock.
  if (h.info2 & wire::info2::kDurableDelete) {
    // Accepted: the devcluster reports Enterprise Edition.
  }
  std::unique_lock lock(part.mu);
  auto it = part.records.find(req.digest);
  bool exists = it != part.records.end() && !it->second.ExpiredAt(now);
  if (it != part.records.end() && !exists) {
    part.records.erase(it);
    it = part.records.end();
  }
  StoredRecord* existing = exists ? &it->second : nullptr;

  if (existing && req.filter && !req.filter->Matches(MakeExpRecord(req.digest, *existing, now))) {
    return AppendResultMessage(out, result::kFilteredOut, 0, 0, index);
  }
  // Generation policy applies to existing records only.
  if (existing && (h.info2 & wire::info2::kGeneration) && h.generation != existing->generation) {
    return AppendResultMessage(out, result::kGenerationError, 0, 0, index);
  }
  if (existing && (h.info2 & wire::info2::kGenerationGt) && h.generation <= existing->generation) {
    return AppendResultMessage(out, result::kGenerationError, 0, 0, index);
  }
  if (h.info2 & wire::info2::kDelete) {
    if (!existing) return AppendResultMessage(out, result::kKeyNotFound, 0, 0, index);
    part.records.erase(it);
    return AppendResultMessage(out, result::kOk, 0, 0, index);
  }
  if ((h.info2 & wire::info2::kCreateOnly) && existing) {
    return AppendResultMessage(out, result::kKeyExists, 0, 0, index);
  }
  if ((h.info3 & (wire::info3::kUpdateOnly | wire::info3::kReplaceOnly)) && !existing) {
    return AppendResultMessage(out, result::kKeyNotFound, 0, 0, index);
  }
  if (existing && !req.key.empty() && !existing->key.empty() && existing->key != req.key) {
    return AppendResultMessage(out, result::kKeyMismatch, 0, 0, index);
  }
  if (existing && !req.set.empty() && existing->set != req.set) {
    return AppendResultMessage(out, result::kParameterError, 0, 0, index);
  }
  const bool replace = (h.info3 & (wire::info3::kCreateOrReplace | wire::info3::kReplaceOnly)) != 0;
  if (ops.empty()) return AppendResultMessage(out, result::kParameterError, 0, 0, index);

  thread_local std::vector<Bin> bins;
  bins.clear();
  if (existing && !replace) DecodeBins(*existing, bins);
  std::vector<ResponseOp> responses;
  const bool respond_all = (h.info2 & wire::info2::kRespondAllOps) != 0;
  bool touched = false, delete_record = false, get_all = false;
  for (const auto& op : ops) {
    switch (op.op) {
      case OpType::kWrite: {
        if (op.name.size() > wire::kMaxBinNameLength) {
          return AppendResultMessage(out, result::kBinNameError, 0, 0, index);
        }
        if (replace && op.particle_type == 0) {
          return AppendResultMessage(out, result::kParameterError, 0, 0, index);
        }
        if (!wire::ValidateParticle(op.particle_type, op.value).ok()) {
          return AppendResultMessage(out, result::kParameterError, 0, 0, index);
        }
        Bin* bin = FindBin(bins, op.name);
        if (op.particle_type == 0) {
          if (bin) bins.erase(bins.begin() + (bin - bins.data()));
        } else if (bin) {
          bin->type = op.particle_type;
          bin->value.assign(op.value);
        } else {
          bins.push_back({std::string(op.name), op.particle_type, std::string(op.value)});
        }
        if (respond_all) responses.push_back({std::string(op.name), 0, ""});
        break;
      }
      case OpType::kIncr:
      case OpType::kAppend:
      case OpType::kPrepend: {
        if (replace) return AppendResultMessage(out, result::kParameterError, 0, 0, index);
        uint8_t rc = ApplyModify(FindBin(bins, op.name), bins, op);
        if (rc != result::kOk) return AppendResultMessage(out, rc, 0, 0, index);
        if (respond_all) responses.push_back({std::string(op.name), 0, ""});
        break;
      }
      case OpType::kTouch:
        if (!existing) return AppendResultMessage(out, result::kKeyNotFound, 0, 0, index);
        touched = true;
        if (respond_all) responses.push_back({"", 0, ""});
        break;
      case OpType::kDelete:
        delete_record = true;
        bins.clear();
        if (respond_all) responses.push_back({"", 0, ""});
        break;
      case OpType::kRead: {
        if (op.name.empty()) {
          get_all = true;
          break;
        }
        Bin* bin = FindBin(bins, op.name);
        if (bin) {
          responses.push_back({bin->name, bin->type, bin->value});
        } else if (respond_all) {
          responses.push_back({std::string(op.name), 0, ""});
        }
        break;
      }
      default:
        // CDT, bit, HLL and expression operations are outside the devcluster's subset.
        return AppendResultMessage(out, result::kParameterError, 0, 0, index);
    }
  }
  if ((h.info1 & wire::info1::kGetAll) != 0) get_all = true;
  (void)touched;

  if (bins.empty()) {
    // A write that leaves no bins deletes the record.
    if (existing) part.records.erase(it);
    if (!existing && !delete_record) {
      return AppendResultMessage(out, result::kOk, 0, 0, index);
    }
    return AppendRecordResponse(out, result::kOk, 0, 0, 0, index, responses, nullptr);
  }
  uint32_t void_time = 0;
  uint8_t rc =
      ComputeVoidTime(h.record_ttl, existing != nullptr, existing ? existing->void_time : 0,
                      store->config(), now, &void_time);
  if (rc != result::kOk) return AppendResultMessage(out, rc, 0, 0, index);

  StoredRecord* r;
  if (existing) {
    r = existing;
  } else {
    r = &part.records[req.digest];
  }
  uint16_t previous_generation = existing ? existing->generation : 0;
  r->generation =
      static_cast<uint16_t>(previous_generation == 0xFFFF ? 1 : previous_generation + 1);
  r->void_time = void_time;
  uint64_t lut = CitrusleafNowMillis();
  r->lut_ms = existing && lut <= existing->lut_ms ? existing->lut_ms + 1 : lut;
  if (!existing) r->set = std::string(req.set);
  if (r->key.empty() && !req.key.empty()) r->key = std::string(req.key);
  EncodeBins(bins, *r);
  AppendRecordResponse(out, result::kOk, 0, r->generation, r->void_time, index, responses,
                       get_all ? r : nullptr);
}

Status HandleMessage(RequestContext& ctx, std::string_view body) {
  thread_local wire::MessageView msg;
  size_t consumed = 0;
  Status st = wire::DecodeMessage(body, &msg, &consumed);
  std::string out;
  size_t off = wire::BeginProto(out);
  if (!st.ok()) {
    // A malformed request gets a parameter error, then the connection is closed.
    AppendResultMessage(out, result::kParameterError, wire::info3::kLast);
    wire::EndProto(out, off, wire::ProtoType::kMessage);
    (void)ctx.conn.WriteAll(out);
    return st;
  }
  const bool multi = msg.Has(FieldType::kBatchIndex) || msg.Has(FieldType::kBatchIndexWithSet) ||
                     !msg.Has(FieldType::kDigest);
  if (!ctx.session.authenticated) {
    AppendResultMessage(out, result::kNotAuthenticated, multi ? wire::info3::kLast : 0);
    wire::EndProto(out, off, wire::ProtoType::kMessage);
    return ctx.conn.WriteAll(out);
  }
  if (msg.Has(FieldType::kBatchIndex) || msg.Has(FieldType::kBatchIndexWithSet)) {
    return HandleBatch(ctx, msg);
  }
  if (!msg.Has(FieldType::kDigest)) return HandleScan(ctx, msg);

  RecordRequest req;
  req.header = msg.header;
  req.ns = msg.FieldData(FieldType::kNamespace);
  req.set = msg.FieldData(FieldType::kSet);
  req.key = msg.FieldData(FieldType::kKey);
  std::string_view digest = msg.FieldData(FieldType::kDigest);
  req.ops = &msg.ops;
  std::optional<Result<wire::Expression>> filter;
  if (digest.size() != wire::kDigestSize) {
    AppendResultMessage(out, result::kParameterError, 0);
  } else if (auto f = msg.Find(FieldType::kFilterExpression);
             f && !(filter.emplace(wire::Expression::Parse(f->data)), filter->ok())) {
    AppendResultMessage(out, result::kParameterError, 0);
  } else {
    req.digest = wire::DigestFromBytes(digest);
    if (filter) req.filter = &filter->value();
    ExecuteRecordCommand(ctx.cluster, req, 0, out);
  }
  wire::EndProto(out, off, wire::ProtoType::kMessage);
  return ctx.conn.WriteAll(out);
}

std::string HandleAdmin(RequestContext& ctx, std::string_view body) {
  using wire::AdminCommand;
  using wire::AdminField;
  namespace ar = wire::admin_result;
  wire::AdminMessage msg;
  if (!wire::DecodeAdminMessage(body, &msg).ok()) {
    return wire::EncodeAdminMessage(AdminCommand::kAuthenticate, ar::kInvalidField, {});
  }
  if (!ctx.cluster.security_enabled()) {
    return wire::EncodeAdminMessage(msg.command, ar::kSecurityNotEnabled, {});
  }
  std::string user(msg.Field(AdminField::kUser));
  switch (msg.command) {
    case AdminCommand::kLogin: {
      const ClusterOptions& o = ctx.cluster.options();
      if (o.auth_mode == "pki") {
        // No user, no password: the verified client certificate names the user.
        if (msg.Has(AdminField::kUser) || ctx.session.certificate_user != o.user) {
          return wire::EncodeAdminMessage(msg.command, ar::kInvalidCredential, {});
        }
        user = ctx.session.certificate_user;
      } else if (o.auth_mode == "external") {
        // An external (LDAP) user has no credential on the server: the clear-text password
        // is what is checked.
        if (user != o.user) return wire::EncodeAdminMessage(msg.command, ar::kInvalidUser, {});
        if (!msg.Has(AdminField::kClearPassword) ||
            msg.Field(AdminField::kClearPassword) != o.password) {
          return wire::EncodeAdminMessage(msg.command, ar::kInvalidCredential, {});
        }
      } else if (!ctx.cluster.CheckCredential(user, msg.Field(AdminField::kCredential))) {
        bool known = user == o.user;
        return wire::EncodeAdminMessage(msg.command,
                                        known ? ar::kInvalidCredential : ar::kInvalidUser, {});
      }
      ctx.session.authenticated = true;
      ctx.session.user = user;
      std::string ttl(4, '\0');
      StoreU32BE(ttl.data(), 86400);
      return wire::EncodeAdminMessage(msg.command, ar::kOk,
                                      {{AdminField::kSessionToken, ctx.cluster.NewSession(user)},
                                       {AdminField::kSessionTtl, ttl}});
    }
    case AdminCommand::kAuthenticate: {
      auto owner = ctx.cluster.CheckSession(user, msg.Field(AdminField::kSessionToken));
      if (!owner) return wire::EncodeAdminMessage(msg.command, ar::kNotAuthenticated, {});
      ctx.session.authenticated = true;
      ctx.session.user = *owner;
      return wire::EncodeAdminMessage(msg.command, ar::kOk, {});
    }
    default:
      if (!ctx.session.authenticated) {
        return wire::EncodeAdminMessage(msg.command, ar::kNotAuthenticated, {});
      }
      return wire::EncodeAdminMessage(msg.command, ar::kInvalidCommand, {});
  }
}

}  // namespace absvc::devcluster
