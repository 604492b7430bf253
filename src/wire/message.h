// AS_MSG (proto type 3): the 22-byte header, fields and ops. MessageView decodes one
// message into views of the caller's buffer without copying; MessageBuilder appends one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::wire {

inline constexpr size_t kMsgHeaderSize = 22;
inline constexpr size_t kMaxBinNameLength = 15;

namespace info1 {
inline constexpr uint8_t kRead = 0x01;
inline constexpr uint8_t kGetAll = 0x02;
inline constexpr uint8_t kShortQuery = 0x04;
inline constexpr uint8_t kBatch = 0x08;
inline constexpr uint8_t kXdr = 0x10;
inline constexpr uint8_t kGetNoBinData = 0x20;
inline constexpr uint8_t kReadModeApAll = 0x40;
inline constexpr uint8_t kCompressResponse = 0x80;
}  // namespace info1

namespace info2 {
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kDelete = 0x02;
inline constexpr uint8_t kGeneration = 0x04;
inline constexpr uint8_t kGenerationGt = 0x08;
inline constexpr uint8_t kDurableDelete = 0x10;
inline constexpr uint8_t kCreateOnly = 0x20;
inline constexpr uint8_t kRelaxApLongQuery = 0x40;
inline constexpr uint8_t kRespondAllOps = 0x80;
}  // namespace info2

namespace info3 {
inline constexpr uint8_t kLast = 0x01;
inline constexpr uint8_t kCommitMaster = 0x02;
inline constexpr uint8_t kPartitionDone = 0x04;
inline constexpr uint8_t kUpdateOnly = 0x08;
inline constexpr uint8_t kCreateOrReplace = 0x10;
inline constexpr uint8_t kReplaceOnly = 0x20;
inline constexpr uint8_t kScReadType = 0x40;
inline constexpr uint8_t kScReadRelax = 0x80;
}  // namespace info3

namespace info4 {
inline constexpr uint8_t kMrtVerifyRead = 0x01;
inline constexpr uint8_t kMrtRollForward = 0x02;
inline constexpr uint8_t kMrtRollBack = 0x04;
inline constexpr uint8_t kMrtOnLockingOnly = 0x10;
}  // namespace info4

enum class FieldType : uint8_t {
  kNamespace = 0,
  kSet = 1,
  kKey = 2,
  kRecordVersion = 3,
  kDigest = 4,
  kTxnId = 5,
  kMrtDeadline = 6,
  kTaskId = 7,
  kSocketTimeout = 9,
  kRecordsPerSecond = 10,
  kPidArray = 11,
  kDigestArray = 12,
  kMaxRecords = 13,
  kLut = 14,
  kBvalArray = 15,
  kIndexName = 21,
  kIndexRange = 22,
  kIndexContext = 23,
  kIndexExpression = 24,
  kIndexType = 26,
  kUdfPackageName = 30,
  kUdfFunction = 31,
  kUdfArgList = 32,
  kUdfOp = 33,
  kQueryBinList = 40,
  kBatchIndex = 41,
  kBatchIndexWithSet = 42,
  kFilterExpression = 43,
  kErrorDetails = 45,
};

enum class OpType : uint8_t {
  kRead = 1,
  kWrite = 2,
  kCdtRead = 3,
  kCdtModify = 4,
  kIncr = 5,
  kExpRead = 7,
  kExpModify = 8,
  kAppend = 9,
  kPrepend = 10,
  kTouch = 11,
  kBitRead = 12,
  kBitModify = 13,
  kDelete = 14,
  kHllRead = 15,
  kHllModify = 16,
};

struct MsgHeader {
  uint8_t info1 = 0;
  uint8_t info2 = 0;
  uint8_t info3 = 0;
  uint8_t info4 = 0;
  uint8_t result_code = 0;
  uint32_t generation = 0;
  uint32_t record_ttl = 0;
  uint32_t transaction_ttl = 0;
  uint16_t n_fields = 0;
  uint16_t n_ops = 0;
};

struct FieldView {
  FieldType type;
  std::string_view data;
};

struct OpView {
  OpType op;
  uint8_t particle_type;
  uint8_t flags;
  std::string_view name;
  std::string_view value;
};

// One decoded AS_MSG. Views point into the buffer given to Decode, which must outlive
// them. Reuse one MessageView across messages so its vectors keep their capacity.
struct MessageView {
  MsgHeader header;
  std::vector<FieldView> fields;
  std::vector<OpView> ops;

  // First field of `type`, or nullptr.
  const FieldView* Find(FieldType type) const;
  std::string_view FieldData(FieldType type) const {
    auto f = Find(type);
    return f ? f->data : std::string_view();
  }
  bool Has(FieldType type) const { return Find(type) != nullptr; }
};

// Decodes the AS_MSG at the start of `bytes` (no proto header). On success sets *consumed
// to the message's length, so several messages packed in one proto can be walked.
Status DecodeMessage(std::string_view bytes, MessageView* out, size_t* consumed);

// Decodes only the 22-byte header.
Status DecodeMsgHeader(std::string_view bytes, MsgHeader* out);
void EncodeMsgHeader(const MsgHeader& h, char out[kMsgHeaderSize]);

// Appends one AS_MSG to `out`; field and op counts are patched by Finish().
class MessageBuilder {
 public:
  MessageBuilder(std::string& out, const MsgHeader& header);

  MessageBuilder& Field(FieldType type, std::string_view data);
  MessageBuilder& FieldU32(FieldType type, uint32_t v);
  MessageBuilder& FieldU64(FieldType type, uint64_t v);
  // Starts a field whose data the caller appends to out(); EndField patches its size.
  void BeginField(FieldType type);
  void EndField();

  MessageBuilder& Op(OpType op, uint8_t particle_type, std::string_view name,
                     std::string_view value);
  // Appends an op whose encoded bytes (size..value) the caller already has.
  MessageBuilder& RawOps(std::string_view encoded_ops, uint16_t count);

  std::string& out() { return out_; }
  void Finish();

 private:
  std::string& out_;
  size_t header_offset_;
  size_t field_offset_ = 0;
  uint16_t n_fields_ = 0;
  uint16_t n_ops_ = 0;
};

// Appends one encoded op ([u32 size][op][type][flags][name_len][name][value]).
void AppendOp(std::string& out, OpType op, uint8_t particle_type, std::string_view name,
              std::string_view value);

}  // namespace absvc::wire
