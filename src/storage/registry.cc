#include "storage/registry.h"

#include "storage/azure/azure_storage.h"
#include "storage/gcs/gcs_storage.h"
#include "storage/local/local_storage.h"
#include "storage/memory/memory_storage.h"
#include "storage/s3/s3_storage.h"

namespace absvc::storage {
namespace {

Result<std::unique_ptr<Storage>> OpenBackend(const StorageSpec& spec, Clock& clock,
                                             const std::atomic<bool>* cancel) {
  switch (spec.kind) {
    case StorageKind::kLocal:
      return OpenLocalStorage(spec.path);
    case StorageKind::kMemory:
      return OpenMemoryStorage(spec.path);
    case StorageKind::kS3:
      return OpenS3Storage(spec, clock, cancel);
    case StorageKind::kAzure:
      return OpenAzureStorage(spec, clock, cancel);
    case StorageKind::kGcs:
      return OpenGcsStorage(spec, clock, cancel);
  }
  return Status::Internal("unknown storage kind");
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenStorage(const StorageSpec& spec, const OpenOptions& options) {
  ABS_ASSIGN_OR_RETURN(std::unique_ptr<Storage> backend,
                       OpenBackend(spec, *options.clock, options.cancel));
  std::shared_ptr<Storage> storage = std::move(backend);
  if (options.stats) storage = WithMetrics(std::move(storage), options.stats);
  if (options.retries) storage = WithRetries(std::move(storage), spec.retry, *options.clock);
  if (spec.bandwidth_bytes_per_second > 0) {
    storage =
        WithBandwidth(std::move(storage), static_cast<uint64_t>(spec.bandwidth_bytes_per_second));
  }
  // The caller owns the top of the stack alone.
  struct Top : ForwardingStorage {
    using ForwardingStorage::ForwardingStorage;
  };
  return std::unique_ptr<Storage>(new Top(std::move(storage)));
}

}  // namespace absvc::storage
