#include "storage/codec.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/file.h"

namespace absvc::storage {

std::string CodecOptions::CompressionName() const {
  return compression == Compression::kZstd ? "ZSTD" : "NONE";
}

std::string CodecOptions::EncryptionName() const {
  switch (encryption) {
    case Encryption::kAes128:
      return "AES128";
    case Encryption::kAes256:
      return "AES256";
    default:
      return "NONE";
  }
}

Result<Compression> ParseCompression(const std::string& name) {
  std::string n;
  for (char c : name)
    n.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (n == "NONE" || n.empty()) return Compression::kNone;
  if (n == "ZSTD") return Compression::kZstd;
  return Status::InvalidArgument("compression '" + name + "' is not NONE or ZSTD");
}

Result<Encryption> ParseEncryption(const std::string& name) {
  std::string n;
  for (char c : name)
    n.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (n == "NONE" || n.empty()) return Encryption::kNone;
  if (n == "AES128") return Encryption::kAes128;
  if (n == "AES256") return Encryption::kAes256;
  return Status::InvalidArgument("encryption '" + name + "' is not NONE, AES128 or AES256");
}

Result<std::string> DeriveKeyFromPem(const std::string& pem, Encryption mode) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) return Status::InvalidArgument("encryption key is not a PEM private key");
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return Status::InvalidArgument("encryption key must be an RSA private key");
  }
  unsigned char* der = nullptr;
  int len = i2d_PrivateKey(key, &der);  // RSA keys encode as PKCS#1 RSAPrivateKey
  EVP_PKEY_free(key);
  if (len <= 0) return Status::Internal("cannot encode the encryption key");
  unsigned char digest[32];
  unsigned int dlen = 0;
  EVP_Digest(der, static_cast<size_t>(len), digest, &dlen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<char*>(digest), mode == Encryption::kAes128 ? 16 : 32);
}

namespace {

const EVP_CIPHER* CtrCipher(const std::string& key) {
  return key.size() == 16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
}
const EVP_CIPHER* EcbCipher(const std::string& key) {
  return key.size() == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
}

// 128-bit big-endian add of `delta` (+1 or -1) in place.
void AddToCounter(unsigned char block[16], int delta) {
  for (int i = 15; i >= 0; --i) {
    unsigned old = block[i];
    block[i] = static_cast<unsigned char>(old + static_cast<unsigned>(delta));
    if (delta > 0 ? block[i] != 0 : old != 0) break;
  }
}

void EcbBlock(const std::string& key, const unsigned char in[16], unsigned char out[16],
              bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(ctx, EcbCipher(key), nullptr,
                    reinterpret_cast<const unsigned char*>(key.data()), nullptr, encrypt ? 1 : 0);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  int n = 0;
  EVP_CipherUpdate(ctx, out, &n, in, 16);
  EVP_CIPHER_CTX_free(ctx);
}

// The file starts with AES-ECB(IV0 - 1); the payload follows in CTR mode from IV0.
class AesCtrWriter : public Writer {
 public:
  AesCtrWriter(std::unique_ptr<Writer> inner, std::string key)
      : inner_(std::move(inner)), key_(std::move(key)), ctx_(EVP_CIPHER_CTX_new()) {}
  ~AesCtrWriter() override { EVP_CIPHER_CTX_free(ctx_); }

  Status Write(std::string_view data) override {
    if (!started_) ABS_RETURN_IF_ERROR(Start());
    out_.resize(data.size());
    int n = 0;
    EVP_EncryptUpdate(ctx_, reinterpret_cast<unsigned char*>(out_.data()), &n,
                      reinterpret_cast<const unsigned char*>(data.data()),
                      static_cast<int>(data.size()));
    return inner_->Write(std::string_view(out_.data(), static_cast<size_t>(n)));
  }
  Status Close() override {
    if (!started_) ABS_RETURN_IF_ERROR(Start());
    return inner_->Close();
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  Status Start() {
    started_ = true;
    unsigned char iv[16], header_plain[16], header[16];
    if (RAND_bytes(iv, sizeof iv) != 1) return Status::Internal("no random bytes for the AES IV");
    std::memcpy(header_plain, iv, 16);
    AddToCounter(header_plain, -1);
    EcbBlock(key_, header_plain, header, true);
    EVP_EncryptInit_ex(ctx_, CtrCipher(key_), nullptr,
                       reinterpret_cast<const unsigned char*>(key_.data()), iv);
    return inner_->Write(std::string_view(reinterpret_cast<char*>(header), 16));
  }
  std::unique_ptr<Writer> inner_;
  std::string key_;
  EVP_CIPHER_CTX* ctx_;
  std::string out_;
  bool started_ = false;
};

class AesCtrReader : public Reader {
 public:
  AesCtrReader(std::unique_ptr<Reader> inner, std::string key, std::string name)
      : inner_(std::move(inner)),
        key_(std::move(key)),
        name_(std::move(name)),
        ctx_(EVP_CIPHER_CTX_new()) {}
  ~AesCtrReader() override { EVP_CIPHER_CTX_free(ctx_); }

  Result<size_t> Read(char* buf, size_t n) override {
    if (!started_) {
      unsigned char header[16], iv[16];
      size_t got = 0;
      while (got < 16) {
        ABS_ASSIGN_OR_RETURN(size_t k,
                             inner_->Read(reinterpret_cast<char*>(header) + got, 16 - got));
        if (k == 0) return Status::Corrupt(name_ + ": too short to be an encrypted backup file");
        got += k;
      }
      EcbBlock(key_, header, iv, false);
      AddToCounter(iv, 1);
      EVP_DecryptInit_ex(ctx_, CtrCipher(key_), nullptr,
                         reinterpret_cast<const unsigned char*>(key_.data()), iv);
      started_ = true;
    }
    in_.resize(n);
    ABS_ASSIGN_OR_RETURN(size_t k, inner_->Read(in_.data(), n));
    int out = 0;
    EVP_DecryptUpdate(ctx_, reinterpret_cast<unsigned char*>(buf), &out,
                      reinterpret_cast<const unsigned char*>(in_.data()), static_cast<int>(k));
    return static_cast<size_t>(out);
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::string key_, name_;
  EVP_CIPHER_CTX* ctx_;
  std::string in_;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Writer> NewAesCtrWriter(std::unique_ptr<Writer> inner, const std::string& key) {
  return std::make_unique<AesCtrWriter>(std::move(inner), key);
}

std::unique_ptr<Reader> NewAesCtrReader(std::unique_ptr<Reader> inner, const std::string& key,
                                        std::string name) {
  return std::make_unique<AesCtrReader>(std::move(inner), key, std::move(name));
}

std::unique_ptr<Writer> EncodeWriter(std::unique_ptr<Writer> stored, const CodecOptions& codec,
                                     HashingWriter** hash) {
  auto hashing = std::make_unique<HashingWriter>(std::move(stored), kVerifiedBlockBytes);
  *hash = hashing.get();
  std::unique_ptr<Writer> w = std::move(hashing);
  if (codec.encryption != Encryption::kNone) w = NewAesCtrWriter(std::move(w), codec.key);
  if (codec.compression == Compression::kZstd)
    // Level 0 means "default", which ABS maps to zstd's fastest setting: backups are
    // throughput-bound, and level 1 already removes most of the .asb text's redundancy.
    w = NewZstdWriter(std::move(w), codec.compression_level == 0 ? 1 : codec.compression_level);
  return w;
}

std::unique_ptr<Reader> DecodeReader(std::unique_ptr<Reader> stored, const CodecOptions& codec,
                                     const std::string& name) {
  std::unique_ptr<Reader> r = std::move(stored);
  if (codec.encryption != Encryption::kNone) r = NewAesCtrReader(std::move(r), codec.key, name);
  if (codec.compression == Compression::kZstd) r = NewZstdReader(std::move(r), name);
  return r;
}

Result<std::string> EncryptionKeyFromText(const std::string& text, const std::string& source,
                                          Encryption mode) {
  std::string pem = text;
  if (pem.find("-----BEGIN") == std::string::npos) {
    auto decoded = Base64Decode(pem);
    if (!decoded) return Status::InvalidArgument(source + " holds neither PEM nor base64 PEM");
    pem = *decoded;
  }
  return DeriveKeyFromPem(pem, mode);
}

Result<std::string> LoadEncryptionKey(const std::string& key_file, const std::string& key_env,
                                      Encryption mode) {
  std::string pem;
  if (!key_file.empty()) {
    // Bounded, regular files only: a key path like /dev/zero or a FIFO must not hang a job.
    auto text = ReadSmallFile(key_file, 64 << 10, "encryption key file");
    if (!text.ok()) return Status::InvalidArgument(text.status().message());
    pem = std::move(text).value();
  } else if (!key_env.empty()) {
    const char* v = std::getenv(key_env.c_str());
    if (!v || !*v)
      return Status::InvalidArgument("environment variable " + key_env + " is not set");
    return EncryptionKeyFromText(v, "environment variable " + key_env, mode);
  } else {
    return Status::InvalidArgument("encryption needs a key file or a key environment variable");
  }
  return DeriveKeyFromPem(pem, mode);
}

}  // namespace absvc::storage
