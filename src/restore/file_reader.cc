#include "restore/file_reader.h"

namespace absvc::restore {
namespace {

// Feeds the decoder from a storage reader, honouring the bandwidth limit.
class ThrottledSource : public asb::ByteSource {
 public:
  ThrottledSource(std::unique_ptr<storage::Reader> reader, RateLimiter& bandwidth)
      : reader_(std::move(reader)), bandwidth_(bandwidth) {}
  Result<size_t> Read(char* buf, size_t n) override {
    ABS_ASSIGN_OR_RETURN(size_t k, reader_->Read(buf, n));
    bandwidth_.Acquire(k);
    return k;
  }

 private:
  std::unique_ptr<storage::Reader> reader_;
  RateLimiter& bandwidth_;
};

// Counts the stored bytes read, for the restore's counters.
class CountingReader : public storage::Reader {
 public:
  CountingReader(std::unique_ptr<storage::Reader> inner, std::atomic<uint64_t>& count)
      : inner_(std::move(inner)), count_(count) {}
  Result<size_t> Read(char* buf, size_t n) override {
    ABS_ASSIGN_OR_RETURN(size_t k, inner_->Read(buf, n));
    count_ += k;
    return k;
  }

 private:
  std::unique_ptr<storage::Reader> inner_;
  std::atomic<uint64_t>& count_;
};

}  // namespace

Result<std::unique_ptr<BackupFileReader>> BackupFileReader::Open(
    storage::Storage& storage, const PlannedFile& file, const storage::CodecOptions& codec,
    RateLimiter& bandwidth, std::atomic<uint64_t>& stored_bytes) {
  const std::string& path = file.object.path;
  ABS_ASSIGN_OR_RETURN(auto stored, storage.OpenReader(path));
  std::unique_ptr<BackupFileReader> r(new BackupFileReader(storage, file));
  std::unique_ptr<storage::Reader> counted =
      std::make_unique<CountingReader>(std::move(stored), stored_bytes);
  if (file.block_size > 0) {
    // Each block is checked before any byte of it reaches the decoder.
    counted = storage::NewBlockVerifyingReader(std::move(counted), file.block_size,
                                               file.block_sha256, storage.Describe() + "/" + path);
  }
  auto hashing = std::make_unique<storage::HashingReader>(std::move(counted));
  r->hashing_ = hashing.get();
  auto decoded = storage::DecodeReader(std::move(hashing), codec, path);
  r->decoder_ = std::make_unique<asb::Decoder>(
      std::make_unique<ThrottledSource>(std::move(decoded), bandwidth), path);
  return r;
}

Status BackupFileReader::CheckAgainstPlan() {
  if (file_.sha256.empty()) return Status::Ok();
  const std::string& path = file_.object.path;
  auto sha = hashing_->Finish();
  if (!sha.ok()) return sha.status().WithContext(path);
  uint64_t size = hashing_->bytes_read();
  if (*sha == file_.sha256 && size == file_.object.size) return Status::Ok();
  return Status::Corrupt(
      storage_.Describe() + "/" + path + ": does not match its SHA-256 in the manifest (" +
      (size != file_.object.size
           ? "now " + std::to_string(size) + " bytes, planned " + std::to_string(file_.object.size)
           : std::string("the file is damaged")) +
      ")");
}

}  // namespace absvc::restore
