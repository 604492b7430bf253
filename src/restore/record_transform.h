// The restore's transform stage: from a record as the backup holds it to the write the
// cluster gets. Set and bin filters, the namespace remap, the TTL left from now (plus
// extra-ttl) and the write policy. No I/O and no wire encoding: the sink encodes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "asb/decoder.h"
#include "client/options.h"
#include "common/clock.h"

namespace absvc::restore {

struct RestorePolicy {
  bool replace = false;        // drop bins the backup does not have
  bool unique = false;         // only create; existing records are left alone
  bool no_generation = false;  // overwrite even when the cluster's generation is newer
};

struct RecordTransformOptions {
  RestorePolicy policy;
  uint32_t extra_ttl = 0;
  std::string namespace_source;  // remap when both are set
  std::string namespace_destination;
  std::vector<std::string> sets;  // empty = all
  std::vector<std::string> bins;  // empty = all
};

// One record to write. Every view points into the decoded record (or the transform's
// namespace names) and is valid until the decoder moves on. Reuse one RecordWrite for
// every record, so its bin list keeps its capacity.
struct RecordWrite {
  struct Bin {
    std::string_view name;
    uint8_t particle_type = 0;
    std::string_view value;  // wire form
  };
  std::string_view ns;  // the namespace written to
  std::string_view set;
  const wire::Digest* digest = nullptr;
  std::string_view user_key;  // KEY field form (type byte + bytes); empty = none stored
  uint32_t ttl = client::kTtlNeverExpire;
  client::RecordExistsAction exists = client::RecordExistsAction::kUpdate;
  client::GenerationPolicy generation_policy = client::GenerationPolicy::kNone;
  uint16_t generation = 0;
  std::vector<Bin> bins;
};

enum class TransformVerdict {
  kWrite,     // *out holds the write
  kFiltered,  // its set is not restored, or none of its bins is
  kExpired,   // its void time has passed (after extra-ttl)
};

class RecordTransform {
 public:
  explicit RecordTransform(RecordTransformOptions options, Clock& clock = Clock::Real());

  TransformVerdict Apply(const asb::DecodedRecord& record, RecordWrite* out) const;
  // The namespace a record, index or UDF of `ns` goes to.
  const std::string& TargetNamespace(const std::string& ns) const;

 private:
  RecordTransformOptions o_;
  Clock& clock_;
};

}  // namespace absvc::restore
