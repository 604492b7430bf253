// The restore's reader stage: one planned file's bytes from storage, through the block
// check (each block's SHA-256 before any of it is decoded, when the manifest has them),
// the hash that checks the whole file against the manifest, the codec (decryption, decompression)
// and the bandwidth limit, into the .asb decoder.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "asb/decoder.h"
#include "common/rate_limiter.h"
#include "restore/restore_plan.h"
#include "storage/codec.h"
#include "storage/layers.h"
#include "storage/storage.h"

namespace absvc::restore {

class BackupFileReader {
 public:
  // `stored_bytes` counts the stored bytes as they are read.
  static Result<std::unique_ptr<BackupFileReader>> Open(storage::Storage& storage,
                                                        const PlannedFile& file,
                                                        const storage::CodecOptions& codec,
                                                        RateLimiter& bandwidth,
                                                        std::atomic<uint64_t>& stored_bytes);

  asb::Decoder& decoder() { return *decoder_; }

  // Reads what the decoder left and compares the stored bytes with the plan's SHA-256 and
  // size: kCorrupt naming the file and the difference when they differ. A file without a
  // checksum (not from abs) passes.
  Status CheckAgainstPlan();

 private:
  BackupFileReader(storage::Storage& storage, const PlannedFile& file)
      : storage_(storage), file_(file) {}

  storage::Storage& storage_;
  const PlannedFile& file_;
  storage::HashingReader* hashing_ = nullptr;  // owned by the decoder's chain
  std::unique_ptr<asb::Decoder> decoder_;
};

}  // namespace absvc::restore
