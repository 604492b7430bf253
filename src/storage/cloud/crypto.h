// Digests and MACs the cloud protocols sign with (OpenSSL underneath): SHA-256 for
// payload hashes, HMAC-SHA256 for SigV4 and Azure Shared Key, MD5 for Content-MD5.
#pragma once

#include <string>
#include <string_view>

namespace absvc::storage::cloud {

std::string Sha256(std::string_view data);  // 32 raw bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string Md5(std::string_view data);                               // 16 raw bytes

}  // namespace absvc::storage::cloud
