// Azure Blob Storage as a Storage: block blobs under the spec's prefix in one container.
// Large objects go up as blocks (Put Block, min-part-size each, up to
// max-async-connections in flight) committed by Put Block List, so nothing is visible
// until the commit; reads are ranged GETs; claims are conditional Put Blobs
// (If-None-Match: *). Auth: Shared Key (account-name, account-key), a SAS token, or an
// Azure AD service principal (tenant-id, client-id, client-secret).
#pragma once

#include <atomic>

#include <memory>

#include "common/clock.h"
#include "storage/spec.h"
#include "storage/storage.h"

namespace absvc::storage {

// `cancel`: as for OpenS3Storage.
Result<std::unique_ptr<Storage>> OpenAzureStorage(const StorageSpec& spec, Clock& clock,
                                                  const std::atomic<bool>* cancel = nullptr);

}  // namespace absvc::storage
