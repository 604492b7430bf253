// How backup files are transformed on their way to storage: zstd compression, then
// AES-128/256-CTR encryption (ABS's order), plus a SHA-256 of the bytes stored.
#pragma once

#include <memory>
#include <string>

#include "storage/layers.h"
#include "storage/storage.h"

namespace absvc::storage {

enum class Compression { kNone, kZstd };
enum class Encryption { kNone, kAes128, kAes256 };

struct CodecOptions {
  Compression compression = Compression::kNone;
  int compression_level = 0;
  Encryption encryption = Encryption::kNone;
  std::string key;  // raw AES key material (16 or 32 bytes) when encrypting

  std::string CompressionName() const;  // NONE / ZSTD
  std::string EncryptionName() const;   // NONE / AES128 / AES256
};

Result<Compression> ParseCompression(const std::string& name);
Result<Encryption> ParseEncryption(const std::string& name);

// The AES key ABS derives from an RSA private key in PEM (PKCS#1 or PKCS#8):
// SHA-256 of the key's PKCS#1 DER, truncated to 16 bytes for AES-128.
Result<std::string> DeriveKeyFromPem(const std::string& pem, Encryption mode);

// The AES key from a PEM file, or from an environment variable holding PEM or base64
// PEM (ABS's key-file / key-env). Exactly one of the two is given.
Result<std::string> LoadEncryptionKey(const std::string& key_file, const std::string& key_env,
                                      Encryption mode);

// The AES key from key text that is PEM or base64 PEM (an environment variable's value,
// a Secret Agent's answer); errors name `source`.
Result<std::string> EncryptionKeyFromText(const std::string& text, const std::string& source,
                                          Encryption mode);

// A writer whose bytes go through the codec into `stored`; `*hash` (owned by the chain)
// reports size and SHA-256 of what reached storage, whole and per kVerifiedBlockBytes.
std::unique_ptr<Writer> EncodeWriter(std::unique_ptr<Writer> stored, const CodecOptions& codec,
                                     HashingWriter** hash);
std::unique_ptr<Reader> DecodeReader(std::unique_ptr<Reader> stored, const CodecOptions& codec,
                                     const std::string& name);

std::unique_ptr<Writer> NewAesCtrWriter(std::unique_ptr<Writer> inner, const std::string& key);
std::unique_ptr<Reader> NewAesCtrReader(std::unique_ptr<Reader> inner, const std::string& key,
                                        std::string name);

}  // namespace absvc::storage
