#include "restore/record_transform.h"

#include <algorithm>

#include "common/cltime.h"

namespace absvc::restore {
namespace {

bool Listed(const std::vector<std::string>& list, std::string_view name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

RecordTransform::RecordTransform(RecordTransformOptions options, Clock& clock)
    : o_(std::move(options)), clock_(clock) {}

const std::string& RecordTransform::TargetNamespace(const std::string& ns) const {
  if (!o_.namespace_source.empty() && ns == o_.namespace_source) return o_.namespace_destination;
  return ns;
}

TransformVerdict RecordTransform::Apply(const asb::DecodedRecord& r, RecordWrite* out) const {
  if (!Listed(o_.sets, r.set)) return TransformVerdict::kFiltered;
  out->ttl = client::kTtlNeverExpire;
  if (r.void_time != 0) {
    int64_t now = clock_.UnixMillis() / 1000 - kCitrusleafEpochUnixSeconds;
    int64_t remaining = static_cast<int64_t>(r.void_time) - now + o_.extra_ttl;
    if (remaining <= 0) return TransformVerdict::kExpired;
    // A TTL the wire cannot carry, or one that would read as "never expire" or "do not
    // change", is capped just below them.
    out->ttl = static_cast<uint32_t>(
        std::min<int64_t>(remaining, static_cast<int64_t>(client::kTtlDontUpdate) - 1));
  }
  out->bins.clear();
  for (size_t i = 0; i < r.bin_count; ++i) {
    const auto& b = r.bins[i];
    if (Listed(o_.bins, b.name)) out->bins.push_back({b.name, b.particle_type, b.value});
  }
  if (out->bins.empty()) return TransformVerdict::kFiltered;
  out->ns = TargetNamespace(r.ns);
  out->set = r.set;
  out->digest = &r.digest;
  out->user_key = r.key;
  out->generation = 0;
  out->generation_policy = client::GenerationPolicy::kNone;
  if (o_.policy.unique) {
    out->exists = client::RecordExistsAction::kCreateOnly;
  } else {
    out->exists = o_.policy.replace ? client::RecordExistsAction::kReplace
                                    : client::RecordExistsAction::kUpdate;
    if (!o_.policy.no_generation) {
      out->generation_policy = client::GenerationPolicy::kExpectGreater;
      out->generation = r.generation;
    }
  }
  return TransformVerdict::kWrite;
}

}  // namespace absvc::restore
