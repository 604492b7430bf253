#include "wire/message.h"

#include "common/bytes.h"

namespace absvc::wire {

const FieldView* MessageView::Find(FieldType type) const {
  for (const auto& f : fields) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

Status DecodeMsgHeader(std::string_view bytes, MsgHeader* h) {
  if (bytes.size() < kMsgHeaderSize) {
    return Status::Corrupt("message header needs 22 bytes, got " + std::to_string(bytes.size()));
  }
  auto p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (p[0] != kMsgHeaderSize) {
    return Status::Corrupt("message header size byte is " + std::to_string(p[0]) + ", not 22");
  }
  h->info1 = p[1];
  h->info2 = p[2];
  h->info3 = p[3];
  h->info4 = p[4];
  h->result_code = p[5];
  h->generation = LoadU32BE(p + 6);
  h->record_ttl = LoadU32BE(p + 10);
  h->transaction_ttl = LoadU32BE(p + 14);
  h->n_fields = LoadU16BE(p + 18);
  h->n_ops = LoadU16BE(p + 20);
  return Status::Ok();
}

void EncodeMsgHeader(const MsgHeader& h, char out[kMsgHeaderSize]) {
  auto p = reinterpret_cast<uint8_t*>(out);
  p[0] = kMsgHeaderSize;
  p[1] = h.info1;
  p[2] = h.info2;
  p[3] = h.info3;
  p[4] = h.info4;
  p[5] = h.result_code;
  StoreU32BE(p + 6, h.generation);
  StoreU32BE(p + 10, h.record_ttl);
  StoreU32BE(p + 14, h.transaction_ttl);
  StoreU16BE(p + 18, h.n_fields);
  StoreU16BE(p + 20, h.n_ops);
}

Status DecodeMessage(std::string_view bytes, MessageView* out, size_t* consumed) {
  ABS_RETURN_IF_ERROR(DecodeMsgHeader(bytes, &out->header));
  out->fields.clear();
  out->ops.clear();
  size_t pos = kMsgHeaderSize;
  const size_t n = bytes.size();
  for (uint16_t i = 0; i < out->header.n_fields; ++i) {
    if (n - pos < 5) return Status::Corrupt("field " + std::to_string(i) + " header truncated");
    uint32_t size = LoadU32BE(bytes.data() + pos);
    if (size < 1) return Status::Corrupt("field " + std::to_string(i) + " has size 0");
    if (size - 1 > n - pos - 5) {
      return Status::Corrupt("field " + std::to_string(i) + " of " + std::to_string(size) +
                             " bytes runs past the message");
    }
    auto type = static_cast<FieldType>(static_cast<uint8_t>(bytes[pos + 4]));
    out->fields.push_back({type, bytes.substr(pos + 5, size - 1)});
    pos += 4 + size;
  }
  for (uint16_t i = 0; i < out->header.n_ops; ++i) {
    if (n - pos < 8) return Status::Corrupt("op " + std::to_string(i) + " header truncated");
    uint32_t size = LoadU32BE(bytes.data() + pos);
    auto p = reinterpret_cast<const uint8_t*>(bytes.data() + pos);
    uint8_t name_len = p[7];
    if (size < 4u + name_len) {
      return Status::Corrupt("op " + std::to_string(i) + " size " + std::to_string(size) +
                             " is smaller than its name");
    }
    if (size > n - pos - 4) {
      return Status::Corrupt("op " + std::to_string(i) + " of " + std::to_string(size) +
                             " bytes runs past the message");
    }
    OpView op;
    op.op = static_cast<OpType>(p[4]);
    op.particle_type = p[5];
    op.flags = p[6];
    op.name = bytes.substr(pos + 8, name_len);
    op.value = bytes.substr(pos + 8 + name_len, size - 4 - name_len);
    out->ops.push_back(op);
    pos += 4 + size;
  }
  *consumed = pos;
  return Status::Ok();
}

MessageBuilder::MessageBuilder(std::string& out, const MsgHeader& header)
    : out_(out), header_offset_(out.size()) {
  char h[kMsgHeaderSize];
  EncodeMsgHeader(header, h);
  out_.append(h, kMsgHeaderSize);
}

MessageBuilder& MessageBuilder::Field(FieldType type, std::string_view data) {
  AppendU32BE(out_, static_cast<uint32_t>(data.size() + 1));
  AppendU8(out_, static_cast<uint8_t>(type));
  out_.append(data);
  ++n_fields_;
  return *this;
}

MessageBuilder& MessageBuilder::FieldU32(FieldType type, uint32_t v) {
  char b[4];
  StoreU32BE(b, v);
  return Field(type, std::string_view(b, 4));
}

MessageBuilder& MessageBuilder::FieldU64(FieldType type, uint64_t v) {
  char b[8];
  StoreU64BE(b, v);
  return Field(type, std::string_view(b, 8));
}

void MessageBuilder::BeginField(FieldType type) {
  field_offset_ = out_.size();
  AppendU32BE(out_, 0);
  AppendU8(out_, static_cast<uint8_t>(type));
}

void MessageBuilder::EndField() {
  StoreU32BE(out_.data() + field_offset_, static_cast<uint32_t>(out_.size() - field_offset_ - 4));
  ++n_fields_;
}

void AppendOp(std::string& out, OpType op, uint8_t particle_type, std::string_view name,
              std::string_view value) {
  AppendU32BE(out, static_cast<uint32_t>(4 + name.size() + value.size()));
  AppendU8(out, static_cast<uint8_t>(op));
  AppendU8(out, particle_type);
  AppendU8(out, 0);
  AppendU8(out, static_cast<uint8_t>(name.size()));
  out.append(name);
  out.append(value);
}

MessageBuilder& MessageBuilder::Op(OpType op, uint8_t particle_type, std::string_view name,
                                   std::string_view value) {
  AppendOp(out_, op, particle_type, name, value);
  ++n_ops_;
  return *this;
}

MessageBuilder& MessageBuilder::RawOps(std::string_view encoded_ops, uint16_t count) {
  out_.append(encoded_ops);
  n_ops_ = static_cast<uint16_t>(n_ops_ + count);
  return *this;
}

void MessageBuilder::Finish() {
  StoreU16BE(out_.data() + header_offset_ + 18, n_fields_);
  StoreU16BE(out_.data() + header_offset_ + 20, n_ops_);
}

}  // namespace absvc::wire
