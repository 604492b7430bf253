// Stream layers that stack on any Writer or Reader: zstd compression, AES-CTR encryption
// and SHA-256 of the bytes that reach storage. A backup stacks them as
// encoder -> zstd -> aes -> sha256 -> storage writer; a restore reads in reverse.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace absvc::storage {

// One zstd frame per object. `level` 0 means zstd's default.
std::unique_ptr<Writer> NewZstdWriter(std::unique_ptr<Writer> inner, int level);
std::unique_ptr<Reader> NewZstdReader(std::unique_ptr<Reader> inner, std::string name);

// The stored bytes of a backup file are checked in blocks of this size before any of
// their records is decoded (BlockVerifyingReader): a damaged block stops a restore before
// the records it holds reach the cluster.
inline constexpr size_t kVerifiedBlockBytes = 1 << 20;

// Counts and hashes what passes through: the whole (sha256_hex) and, with block_bytes,
// every block of that many bytes (the last one shorter). Valid after Close().
class HashingWriter : public Writer {
 public:
  explicit HashingWriter(std::unique_ptr<Writer> inner, size_t block_bytes = 0);
  ~HashingWriter() override;
  Status Write(std::string_view data) override;
  Status Close() override;
  uint64_t bytes_written() const override { return inner_->bytes_written(); }
  const std::string& sha256_hex() const { return hex_; }
  size_t block_bytes() const { return block_bytes_; }
  const std::vector<std::string>& block_sha256_hex() const { return blocks_; }

 private:
  void EndBlock();
  std::unique_ptr<Writer> inner_;
  void* ctx_;        // EVP_MD_CTX of the whole
  void* block_ctx_;  // EVP_MD_CTX of the block at hand
  size_t block_bytes_;
  size_t in_block_ = 0;
  std::string hex_;
  std::vector<std::string> blocks_;
};

// Reads `inner` a block at a time and hands on a block's bytes only once they match its
// SHA-256 (lowercase hex, in order): kCorrupt naming the block otherwise, and for an
// object with more or fewer blocks than listed. A reader above it never sees a byte that
// was not checked, so nothing decoded from a damaged block reaches the cluster.
std::unique_ptr<Reader> NewBlockVerifyingReader(std::unique_ptr<Reader> inner, size_t block_bytes,
                                                std::vector<std::string> block_sha256_hex,
                                                std::string name);

// Counts and hashes the bytes read through it. Finish() reads what the layers above left
// unread (a zstd frame's trailing bytes, say), so the digest always covers the whole object.
class HashingReader : public Reader {
 public:
  explicit HashingReader(std::unique_ptr<Reader> inner);
  ~HashingReader() override;
  Result<size_t> Read(char* buf, size_t n) override;
  // Drains the object and returns the lowercase hex SHA-256 of all of it.
  Result<std::string> Finish();
  uint64_t bytes_read() const { return bytes_; }

 private:
  std::unique_ptr<Reader> inner_;
  void* ctx_;  // EVP_MD_CTX
  uint64_t bytes_ = 0;
};

// SHA-256 (lowercase hex) of a stored object, read once.
Result<std::string> Sha256OfObject(Storage& storage, const std::string& path);

}  // namespace absvc::storage
