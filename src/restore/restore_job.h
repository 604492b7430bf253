// The restore engine: `parallel` workers each take .asb files from the backup directory,
// decode them and write their records in batches. Metadata files (indexes, UDFs) are
// applied first. Counters follow ABS: read = inserted + existed + fresher + skipped +
// expired + ignored.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "client/client.h"
#include "storage/codec.h"
#include "storage/storage.h"

namespace absvc::restore {

struct RestorePolicy {
  bool replace = false;        // drop bins the backup does not have
  bool unique = false;         // only create; existing records are left alone
  bool no_generation = false;  // overwrite even when the cluster's generation is newer
};

struct RestoreOptions {
  std::vector<std::string> directories;  // in storage; each holds .asb files
  int parallel = 8;
  size_t batch_size = 128;
  size_t max_async_batches = 16;
  bool disable_batch_writes = false;
  RestorePolicy policy;
  uint32_t extra_ttl = 0;
  std::string namespace_source;  // remap when both are set
  std::string namespace_destination;
  std::vector<std::string> sets;  // empty = all
  std::vector<std::string> bins;  // empty = all
  uint64_t records_per_second = 0;
  uint64_t bandwidth_bytes_per_second = 0;
  bool no_records = false;
  bool no_indexes = false;
  bool no_udfs = false;
  storage::CodecOptions codec;
  // Set to true to stop between batches; RunRestore then returns kCancelled. Records
  // already written stay written.
  const std::atomic<bool>* cancel = nullptr;
};

struct RestoreCounters {
  std::atomic<uint64_t> read{0};
  std::atomic<uint64_t> inserted{0};
  std::atomic<uint64_t> existed{0};  // unique: the record was already there
  std::atomic<uint64_t> fresher{0};  // the cluster's generation was newer
  std::atomic<uint64_t> skipped{0};  // filtered out by set or bin list
  std::atomic<uint64_t> expired{0};
  std::atomic<uint64_t> ignored{0};
  std::atomic<uint64_t> bytes{0};  // stored bytes read
  std::atomic<uint64_t> index_count{0};
  std::atomic<uint64_t> udf_count{0};
  std::atomic<uint64_t> files{0};
};

// Restores everything in the directories; the first error stops it and is returned with
// the file it came from.
Status RunRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& options,
                  RestoreCounters& counters);

}  // namespace absvc::restore
