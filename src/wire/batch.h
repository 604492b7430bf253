// The batch-index field (41/42): [count u32][parent flags u8] then one row per key.
// A row is [index u32][digest 20][row flags u8] and, unless REPEAT, its own header,
// fields and ops; REPEAT reuses the previous full row's namespace, set, ops and policy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wire/digest.h"
#include "wire/message.h"

namespace absvc::wire {

namespace batch_flags {
// Parent flags.
inline constexpr uint8_t kAllowInline = 0x01;
inline constexpr uint8_t kAllowInlineSsd = 0x02;
inline constexpr uint8_t kRespondAllKeys = 0x04;
inline constexpr uint8_t kReportErrorRecord = 0x08;
// Row flags.
inline constexpr uint8_t kRepeat = 0x01;
inline constexpr uint8_t kHasInfo = 0x02;
inline constexpr uint8_t kHasGeneration = 0x04;
inline constexpr uint8_t kHasTtl = 0x08;
inline constexpr uint8_t kHasInfo4 = 0x10;
}  // namespace batch_flags

// One decoded row. For REPEAT rows the header, fields and ops are copied from the
// previous full row (views into the same buffer).
struct BatchRow {
  uint32_t index = 0;
  Digest digest{};
  bool repeat = false;
  MsgHeader header;  // info1..4, generation, record_ttl; counts of this row
  std::vector<FieldView> fields;
  std::vector<OpView> ops;

  std::string_view FieldData(FieldType type) const;
};

struct BatchRequest {
  uint8_t parent_flags = 0;
  std::vector<BatchRow> rows;
};

// Decodes the data of a batch-index field. `views` point into `field_data`.
Status DecodeBatchIndex(std::string_view field_data, BatchRequest* out);

// Encodes rows for the new (batch-any) protocol. Rows are written with REPEAT whenever a
// row's namespace, set, header and ops equal the previous row's and it carries no key.
struct BatchRowSpec {
  uint32_t index = 0;
  Digest digest{};
  MsgHeader header;  // info1..info4, generation, record_ttl
  std::string_view ns;
  std::string_view set;
  std::string_view key;          // KEY field data (type + bytes), or empty
  std::string_view encoded_ops;  // ops, already encoded
  uint16_t n_ops = 0;
};
void EncodeBatchIndex(uint8_t parent_flags, const std::vector<BatchRowSpec>& rows,
                      std::string& out);

}  // namespace absvc::wire
