#include "storage/layers.h"

#include <openssl/evp.h>
#include <zstd.h>

#include "common/bytes.h"

namespace absvc::storage {
namespace {

class ZstdWriter : public Writer {
 public:
  ZstdWriter(std::unique_ptr<Writer> inner, int level) : inner_(std::move(inner)) {
    ctx_ = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
    out_.resize(ZSTD_CStreamOutSize());
  }
  ~ZstdWriter() override { ZSTD_freeCCtx(ctx_); }

  Status Write(std::string_view data) override { return Compress(data, ZSTD_e_continue); }
  Status Close() override {
    if (closed_) return Status::Ok();
    ABS_RETURN_IF_ERROR(Compress({}, ZSTD_e_end));
    closed_ = true;
    return inner_->Close();
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  Status Compress(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (true) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t remaining = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(remaining)) {
        return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(remaining));
      }
      if (out.pos > 0) ABS_RETURN_IF_ERROR(inner_->Write(std::string_view(out_.data(), out.pos)));
      bool done = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
      if (done) return Status::Ok();
    }
  }
  std::unique_ptr<Writer> inner_;
  ZSTD_CCtx* ctx_;
  std::string out_;
  bool closed_ = false;
};

class ZstdReader : public Reader {
 public:
  ZstdReader(std::unique_ptr<Reader> inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {
    ctx_ = ZSTD_createDCtx();
    in_.resize(ZSTD_DStreamInSize());
  }
  ~ZstdReader() override { ZSTD_freeDCtx(ctx_); }

  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      if (in_pos_ == in_len_ && !eof_) {
        ABS_ASSIGN_OR_RETURN(in_len_, inner_->Read(in_.data(), in_.size()));
        in_pos_ = 0;
        if (in_len_ == 0)
          eof_ = true;
        else
          started_ = true;
      }
      ZSTD_inBuffer in{in_.data(), in_len_, in_pos_};
      ZSTD_outBuffer out{buf, n, 0};
      size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
      bool progressed = in.pos > in_pos_ || out.pos > 0;
      in_pos_ = in.pos;
      if (ZSTD_isError(rc)) {
        return Status::Corrupt(name_ + ": not a valid zstd stream (" + ZSTD_getErrorName(rc) +
                               "); are the compression setting and the encryption key right?");
      }
      // A frame is complete when zstd says so; a call that moved nothing keeps the verdict.
      if (rc == 0) {
        frame_done_ = true;
      } else if (progressed) {
        frame_done_ = false;
      }
      if (out.pos > 0) return out.pos;
      if (eof_ && in_pos_ == in_len_) {
        if (!started_)
          return Status::Corrupt(name_ + ": empty file where a zstd stream was expected");
        if (!frame_done_) return Status::Corrupt(name_ + ": zstd stream is truncated");
        return size_t{0};
      }
    }
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::string name_;
  ZSTD_DCtx* ctx_;
  std::string in_;
  size_t in_len_ = 0, in_pos_ = 0;
  bool eof_ = false, frame_done_ = false, started_ = false;
};

}  // namespace

std::unique_ptr<Writer> NewZstdWriter(std::unique_ptr<Writer> inner, int level) {
  return std::make_unique<ZstdWriter>(std::move(inner), level);
}

std::unique_ptr<Reader> NewZstdReader(std::unique_ptr<Reader> inner, std::string name) {
  return std::make_unique<ZstdReader>(std::move(inner), std::move(name));
}

HashingWriter::HashingWriter(std::unique_ptr<Writer> inner)
    : inner_(std::move(inner)), ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

HashingWriter::~HashingWriter() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

Status HashingWriter::Write(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return inner_->Write(data);
}

Status HashingWriter::Close() {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  hex_ = HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
  return inner_->Close();
}

HashingReader::HashingReader(std::unique_ptr<Reader> inner)
    : inner_(std::move(inner)), ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

HashingReader::~HashingReader() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

Result<size_t> HashingReader::Read(char* buf, size_t n) {
  ABS_ASSIGN_OR_RETURN(size_t k, inner_->Read(buf, n));
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), buf, k);
  bytes_ += k;
  return k;
}

Result<std::string> HashingReader::Finish() {
  char buf[1 << 14];
  while (true) {
    ABS_ASSIGN_OR_RETURN(size_t k, Read(buf, sizeof buf));
    if (k == 0) break;
  }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<std::string> Sha256OfObject(Storage& storage, const std::string& path) {
  ABS_ASSIGN_OR_RETURN(auto reader, storage.OpenReader(path));
  HashingReader hashing(std::move(reader));
  return hashing.Finish();
}

}  // namespace absvc::storage
