// Google Cloud Storage as a Storage, over the JSON API: objects under the spec's prefix in
// one bucket. Small objects are one media upload; larger ones a resumable upload in
// chunks of min-part-size (rounded up to 256 KiB), each confirmed by a 308 and its Range,
// a failed chunk resumed from what the server says it kept. Reads are ranged media
// downloads, claims are uploads with ifGenerationMatch=0. Auth: a service-account key
// (key-file-path, inline key, or GOOGLE_APPLICATION_CREDENTIALS) traded for OAuth2
// tokens, or the metadata server's token.
#pragma once

#include <atomic>

#include <memory>

#include "common/clock.h"
#include "storage/spec.h"
#include "storage/storage.h"

namespace absvc::storage {

// `cancel`: as for OpenS3Storage.
Result<std::unique_ptr<Storage>> OpenGcsStorage(const StorageSpec& spec, Clock& clock,
                                                const std::atomic<bool>* cancel = nullptr);

}  // namespace absvc::storage
