// Amazon S3 and S3-compatible stores (MinIO, Ceph, s3rver) as a Storage: objects under
// the spec's prefix in one bucket. Large objects go up as multipart uploads (parts of
// min-part-size, up to max-async-connections in flight, aborted on failure), reads are
// ranged GETs that a broken download resumes from, claims use conditional PUTs
// (If-None-Match: *), and a prefix is removed by batch deletes.
#pragma once

#include <atomic>

#include <memory>

#include "common/clock.h"
#include "storage/spec.h"
#include "storage/storage.h"

namespace absvc::storage {

// `cancel`, when given, ends the storage's data transfers (parts, ranged reads) and every
// wait on them as soon as it is set; other calls (listings, removals) still run, so the
// canceller can clean up.
Result<std::unique_ptr<Storage>> OpenS3Storage(const StorageSpec& spec, Clock& clock,
                                               const std::atomic<bool>* cancel = nullptr);

}  // namespace absvc::storage
