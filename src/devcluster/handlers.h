// Request handlers of a devcluster node. Each gets the node it runs on and the
// connection's session; each answers exactly as a real server would, or as close as the
// devcluster's documented subset allows (docs/devcluster.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wire/digest.h"
#include "wire/expression.h"
#include "wire/message.h"

namespace absvc::devcluster {

class Connection;
class DevCluster;
struct Session;

struct RequestContext {
  DevCluster& cluster;
  int node;
  Connection& conn;
  Session& session;
};

// Info (type 1): returns the complete response proto.
std::string HandleInfo(RequestContext& ctx, std::string_view body);
// Admin (type 2): returns the complete response proto.
std::string HandleAdmin(RequestContext& ctx, std::string_view body);
// Message (type 3): writes its response(s) to the connection.
Status HandleMessage(RequestContext& ctx, std::string_view body);

// --- shared by the message handlers ---

// A single-record command: from a key message or one batch row.
struct RecordRequest {
  wire::MsgHeader header;
  std::string_view ns;
  std::string_view set;
  std::string_view key;  // KEY field data; empty = not sent
  wire::Digest digest{};
  const std::vector<wire::OpView>* ops = nullptr;
  const wire::Expression* filter = nullptr;
};

// Executes one record command and appends its AS_MSG answer to `out`, with `index` in
// transaction_ttl (batch rows) and `extra_info3` or-ed into info3.
void ExecuteRecordCommand(DevCluster& cluster, const RecordRequest& request, uint32_t index,
                          std::string& out);

// Appends a bare AS_MSG carrying only a result code and info3 bits.
void AppendResultMessage(std::string& out, uint8_t result, uint8_t info3, uint32_t generation = 0,
                         uint32_t transaction_ttl = 0);

// What filter expressions see of a stored record.
struct StoredRecord;
wire::ExpRecord MakeExpRecord(const wire::Digest& digest, const StoredRecord& record,
                              uint32_t now_cl_seconds);

// Finds a bin of a stored record by name; false when absent.
bool FindStoredBin(const StoredRecord& record, std::string_view name, uint8_t* particle_type,
                   std::string_view* value);

Status HandleScan(RequestContext& ctx, const wire::MessageView& msg);
Status HandleBatch(RequestContext& ctx, const wire::MessageView& msg);

}  // namespace absvc::devcluster
