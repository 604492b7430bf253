// Batch-index requests: one answer per row (row index in transaction_ttl), then LAST.
#include "common/log.h"
#include "devcluster/cluster.h"
#include "devcluster/handlers.h"
#include "devcluster/tls.h"
#include "wire/batch.h"
#include "wire/proto.h"
#include "wire/result_code.h"

namespace absvc::devcluster {

using wire::FieldType;

Status HandleBatch(RequestContext& ctx, const wire::MessageView& msg) {
  std::string out;
  size_t off = wire::BeginProto(out);
  auto finish = [&](uint8_t result_code) {
    AppendResultMessage(out, result_code, wire::info3::kLast);
    wire::EndProto(out, off, wire::ProtoType::kMessage);
    return ctx.conn.WriteAll(out);
  };
  const wire::FieldView* field = msg.Find(FieldType::kBatchIndex);
  if (!field) field = msg.Find(FieldType::kBatchIndexWithSet);
  thread_local wire::BatchRequest batch;
  Status st = wire::DecodeBatchIndex(field->data, &batch);
  if (!st.ok()) {
    ABS_LOG_DEBUG("node {}: bad batch: {}", ctx.node, st.ToString());
    return finish(wire::result::kParameterError);
  }
  if (batch.rows.size() > 5000)
    return finish(wire::result::kBatchMaxRequests);  // too many keys in one batch
  std::optional<Result<wire::Expression>> parent_filter;
  if (auto f = msg.Find(FieldType::kFilterExpression)) {
    parent_filter.emplace(wire::Expression::Parse(f->data));
    if (!parent_filter->ok()) return finish(wire::result::kParameterError);
  }
  for (const auto& row : batch.rows) {
    RecordRequest req;
    req.header = row.header;
    req.ns = row.FieldData(FieldType::kNamespace);
    req.set = row.FieldData(FieldType::kSet);
    req.key = row.FieldData(FieldType::kKey);
    req.digest = row.digest;
    req.ops = &row.ops;
    std::optional<Result<wire::Expression>> row_filter;
    std::string_view row_filter_data = row.FieldData(FieldType::kFilterExpression);
    if (!row_filter_data.empty()) {
      row_filter.emplace(wire::Expression::Parse(row_filter_data));
      if (!row_filter->ok()) {
        AppendResultMessage(out, wire::result::kParameterError, 0, 0, row.index);
        continue;
      }
      req.filter = &row_filter->value();
    } else if (parent_filter) {
      req.filter = &parent_filter->value();
    }
    ExecuteRecordCommand(ctx.cluster, req, row.index, out);
    if (out.size() - off > (1 << 20)) {
      wire::EndProto(out, off, wire::ProtoType::kMessage);
      ABS_RETURN_IF_ERROR(ctx.conn.WriteAll(out));
      out.clear();
      off = wire::BeginProto(out);
    }
  }
  return finish(wire::result::kOk);
}

}  // namespace absvc::devcluster
