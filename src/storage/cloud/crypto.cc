#include "storage/cloud/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/bytes.h"

namespace absvc::storage::cloud {
namespace {

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string Sha256(std::string_view data) {
  return Digest(EVP_sha256(), data);
}

std::string Sha256Hex(std::string_view data) {
  return HexEncode(Sha256(data));
}

std::string Md5(std::string_view data) {
  return Digest(EVP_md5(), data);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace absvc::storage::cloud
