#include "wire/batch.h"

#include "common/bytes.h"

namespace absvc::wire {

std::string_view BatchRow::FieldData(FieldType type) const {
  for (const auto& f : fields) {
    if (f.type == type) return f.data;
  }
  return {};
}

Status DecodeBatchIndex(std::string_view data, BatchRequest* out) {
  ByteReader r(data);
  uint32_t count = r.U32BE();
  out->parent_flags = r.U8();
  if (!r.ok()) return Status::Corrupt("batch field shorter than its 5-byte header");
  // Each row needs at least 25 bytes, so a count beyond that is a lie.
  if (count > r.remaining() / 25) {
    return Status::Corrupt("batch declares " + std::to_string(count) + " rows in " +
                           std::to_string(data.size()) + " bytes");
  }
  out->rows.clear();
  out->rows.reserve(count);
  const BatchRow* previous = nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    BatchRow row;
    row.index = r.U32BE();
    auto digest = r.Bytes(kDigestSize);
    uint8_t flags = r.U8();
    if (!r.ok()) return Status::Corrupt("batch row " + std::to_string(i) + " truncated");
    row.digest = DigestFromBytes(digest);
    if (flags & batch_flags::kRepeat) {
      if (previous == nullptr) {
        return Status::Corrupt("batch row 0 is a REPEAT with nothing to repeat");
      }
      row.repeat = true;
      row.header = previous->header;
      row.fields = previous->fields;
      row.ops = previous->ops;
      out->rows.push_back(std::move(row));
      previous = &out->rows.back();
      continue;
    }
    row.header.info1 = r.U8();
    if (flags & batch_flags::kHasInfo) {
      row.header.info2 = r.U8();
      row.header.info3 = r.U8();
    }
    if (flags & batch_flags::kHasInfo4) row.header.info4 = r.U8();
    if (flags & batch_flags::kHasGeneration) row.header.generation = r.U16BE();
    if (flags & batch_flags::kHasTtl) row.header.record_ttl = r.U32BE();
    row.header.n_fields = r.U16BE();
    row.header.n_ops = r.U16BE();
    if (!r.ok()) return Status::Corrupt("batch row " + std::to_string(i) + " header truncated");
    for (uint16_t f = 0; f < row.header.n_fields; ++f) {
      uint32_t size = r.U32BE();
      uint8_t type = r.U8();
      if (!r.ok() || size < 1 || size - 1 > r.remaining()) {
        return Status::Corrupt("batch row " + std::to_string(i) + " field " + std::to_string(f) +
                               " runs past the batch");
      }
      row.fields.push_back({static_cast<FieldType>(type), r.Bytes(size - 1)});
    }
    for (uint16_t o = 0; o < row.header.n_ops; ++o) {
      uint32_t size = r.U32BE();
      if (!r.ok() || size < 4 || size > r.remaining()) {
        return Status::Corrupt("batch row " + std::to_string(i) + " op " + std::to_string(o) +
                               " runs past the batch");
      }
      std::string_view body = r.Bytes(size);
      uint8_t name_len = static_cast<uint8_t>(body[3]);
      if (size < 4u + name_len) {
        return Status::Corrupt("batch row " + std::to_string(i) + " op " + std::to_string(o) +
                               " is smaller than its name");
      }
      OpView op;
      op.op = static_cast<OpType>(static_cast<uint8_t>(body[0]));
      op.particle_type = static_cast<uint8_t>(body[1]);
      op.flags = static_cast<uint8_t>(body[2]);
      op.name = body.substr(4, name_len);
      op.value = body.substr(4 + name_len);
      row.ops.push_back(op);
    }
    out->rows.push_back(std::move(row));
    previous = &out->rows.back();
  }
  if (!r.empty()) {
    return Status::Corrupt("batch has " + std::to_string(r.remaining()) + " bytes after its rows");
  }
  return Status::Ok();
}

namespace {

bool SameAsPrevious(const BatchRowSpec& a, const BatchRowSpec& b) {
  return a.key.empty() && b.key.empty() && a.ns == b.ns && a.set == b.set &&
         a.header.info1 == b.header.info1 && a.header.info2 == b.header.info2 &&
         a.header.info3 == b.header.info3 && a.header.info4 == b.header.info4 &&
         a.header.generation == b.header.generation && a.header.record_ttl == b.header.record_ttl &&
         a.n_ops == b.n_ops && a.encoded_ops == b.encoded_ops;
}

void AppendField(std::string& out, FieldType type, std::string_view data) {
  AppendU32BE(out, static_cast<uint32_t>(data.size() + 1));
  AppendU8(out, static_cast<uint8_t>(type));
  out.append(data);
}

}  // namespace

void EncodeBatchIndex(uint8_t parent_flags, const std::vector<BatchRowSpec>& rows,
                      std::string& out) {
  AppendU32BE(out, static_cast<uint32_t>(rows.size()));
  AppendU8(out, parent_flags);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    AppendU32BE(out, row.index);
    out.append(DigestBytes(row.digest));
    if (i > 0 && SameAsPrevious(row, rows[i - 1])) {
      AppendU8(out, batch_flags::kRepeat);
      continue;
    }
    bool writes = (row.header.info2 & info2::kWrite) != 0;
    uint8_t flags = batch_flags::kHasInfo;
    if (writes) flags |= batch_flags::kHasGeneration;
    flags |= batch_flags::kHasTtl;
    if (row.header.info4 != 0) flags |= batch_flags::kHasInfo4;
    AppendU8(out, flags);
    AppendU8(out, row.header.info1);
    AppendU8(out, row.header.info2);
    AppendU8(out, row.header.info3);
    if (flags & batch_flags::kHasInfo4) AppendU8(out, row.header.info4);
    if (flags & batch_flags::kHasGeneration) {
      AppendU16BE(out, static_cast<uint16_t>(row.header.generation));
    }
    AppendU32BE(out, row.header.record_ttl);
    uint16_t n_fields = static_cast<uint16_t>(2 + (row.key.empty() ? 0 : 1));
    AppendU16BE(out, n_fields);
    AppendU16BE(out, row.n_ops);
    AppendField(out, FieldType::kNamespace, row.ns);
    AppendField(out, FieldType::kSet, row.set);
    if (!row.key.empty()) AppendField(out, FieldType::kKey, row.key);
    out.append(row.encoded_ops);
  }
}

}  // namespace absvc::wire
