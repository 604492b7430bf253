#include "storage/layers.h"

#include <openssl/evp.h>
#include <zstd.h>

#include "common/bytes.h"

#include <algorithm>
#include <cstring>

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

namespace {

std::string FinalHex(void* ctx) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx), md, &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx), EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

}  // namespace

HashingWriter::HashingWriter(std::unique_ptr<Writer> inner, size_t block_bytes)
    : inner_(std::move(inner)),
      ctx_(EVP_MD_CTX_new()),
      block_ctx_(EVP_MD_CTX_new()),
      block_bytes_(block_bytes) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(block_ctx_), EVP_sha256(), nullptr);
}

HashingWriter::~HashingWriter() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(block_ctx_));
}

void HashingWriter::EndBlock() {
  blocks_.push_back(FinalHex(block_ctx_));
  in_block_ = 0;
}

Status HashingWriter::Write(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  for (std::string_view rest = data; block_bytes_ > 0 && !rest.empty();) {
    size_t take = std::min(rest.size(), block_bytes_ - in_block_);
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(block_ctx_), rest.data(), take);
    in_block_ += take;
    rest.remove_prefix(take);
    if (in_block_ == block_bytes_) EndBlock();
  }
  return inner_->Write(data);
}

Status HashingWriter::Close() {
  hex_ = FinalHex(ctx_);
  if (block_bytes_ > 0 && in_block_ > 0) EndBlock();
  return inner_->Close();
}

namespace {

class BlockVerifyingReader : public Reader {
 public:
  BlockVerifyingReader(std::unique_ptr<Reader> inner, size_t block_bytes,
                       std::vector<std::string> expected, std::string name)
      : inner_(std::move(inner)),
        block_bytes_(std::max<size_t>(1, block_bytes)),
        expected_(std::move(expected)),
        name_(std::move(name)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (!failure_.ok()) return failure_;
    if (pos_ == block_.size()) {
      Status st = NextBlock();
      if (!st.ok()) return failure_ = st;
      if (block_.empty()) return size_t{0};
    }
    n = std::min(n, block_.size() - pos_);
    std::memcpy(buf, block_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  // Reads the next block whole and checks it; an empty block_ at the end.
  Status NextBlock() {
    block_.resize(block_bytes_);
    size_t got = 0;
    while (got < block_bytes_) {
      ABS_ASSIGN_OR_RETURN(size_t k, inner_->Read(block_.data() + got, block_bytes_ - got));
      if (k == 0) break;
      got += k;
    }
    block_.resize(got);
    pos_ = 0;
    const uint64_t start = static_cast<uint64_t>(index_) * block_bytes_;
    if (got == 0) {
      if (index_ == expected_.size()) return Status::Ok();
      return Status::Corrupt(name_ + ": ends after " + std::to_string(index_) + " of its " +
                             std::to_string(expected_.size()) +
                             " blocks (the file is truncated); nothing of the missing blocks "
                             "was written");
    }
    if (index_ >= expected_.size()) {
      return Status::Corrupt(
          name_ + ": has more bytes than the " + std::to_string(expected_.size()) +
          " blocks its manifest lists (from byte " + std::to_string(start) + ")");
    }
    EVP_Digest(block_.data(), got, md_, &md_len_, EVP_sha256(), nullptr);
    if (HexEncode(std::string_view(reinterpret_cast<char*>(md_), md_len_)) != expected_[index_]) {
      return Status::Corrupt(name_ + ": does not match its SHA-256 in the manifest (block " +
                             std::to_string(index_ + 1) + " of " +
                             std::to_string(expected_.size()) + ", bytes " + std::to_string(start) +
                             "-" + std::to_string(start + got - 1) +
                             ", is damaged; none of its records was written)");
    }
    ++index_;
    return Status::Ok();
  }

  std::unique_ptr<Reader> inner_;
  const size_t block_bytes_;
  const std::vector<std::string> expected_;
  const std::string name_;
  std::string block_;  // the checked block being handed on; its capacity is reused
  size_t pos_ = 0;
  size_t index_ = 0;  // blocks checked so far
  unsigned char md_[EVP_MAX_MD_SIZE];
  unsigned int md_len_ = 0;
  Status failure_;
};

}  // namespace

std::unique_ptr<Reader> NewBlockVerifyingReader(std::unique_ptr<Reader> inner, size_t block_bytes,
                                                std::vector<std::string> block_sha256_hex,
                                                std::string name) {
  return std::make_unique<BlockVerifyingReader>(std::move(inner), block_bytes,
                                                std::move(block_sha256_hex), std::move(name));
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
