// Stream layers that stack on any Writer or Reader: zstd compression, AES-CTR encryption
// and SHA-256 of the bytes that reach storage. A backup stacks them as
// encoder -> zstd -> aes -> sha256 -> storage writer; a restore reads in reverse.
#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace absvc::storage {

// One zstd frame per object. `level` 0 means zstd's default.
std::unique_ptr<Writer> NewZstdWriter(std::unique_ptr<Writer> inner, int level);
std::unique_ptr<Reader> NewZstdReader(std::unique_ptr<Reader> inner, std::string name);

// Counts and hashes what passes through; sha256_hex() is valid after Close().
class HashingWriter : public Writer {
 public:
  explicit HashingWriter(std::unique_ptr<Writer> inner);
  ~HashingWriter() override;
  Status Write(std::string_view data) override;
  Status Close() override;
  uint64_t bytes_written() const override { return inner_->bytes_written(); }
  const std::string& sha256_hex() const { return hex_; }

 private:
  std::unique_ptr<Writer> inner_;
  void* ctx_;  // EVP_MD_CTX
  std::string hex_;
};

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
