#include "wire/digest.h"

#include <openssl/evp.h>

#include <cstring>

namespace absvc::wire {
namespace {

// RIPEMD-160 is in OpenSSL 3's default provider (3.0.7+). One fetched algorithm for the
// process and one context per thread keep digesting free of allocations.
const EVP_MD* Ripemd160() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "RIPEMD160", nullptr);
    return fetched ? fetched : EVP_ripemd160();
  }();
  return md;
}

struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Digest ComputeDigest(std::string_view set, uint8_t key_particle_type, std::string_view key_bytes) {
  thread_local ThreadContext tc;
  Digest d{};
  unsigned int len = 0;
  EVP_DigestInit_ex(tc.ctx, Ripemd160(), nullptr);
  EVP_DigestUpdate(tc.ctx, set.data(), set.size());
  EVP_DigestUpdate(tc.ctx, &key_particle_type, 1);
  EVP_DigestUpdate(tc.ctx, key_bytes.data(), key_bytes.size());
  EVP_DigestFinal_ex(tc.ctx, d.data(), &len);
  return d;
}

Digest DigestFromBytes(std::string_view bytes) {
  Digest d{};
  std::memcpy(d.data(), bytes.data(), kDigestSize);
  return d;
}

}  // namespace absvc::wire
