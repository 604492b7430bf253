// Standard base64 (RFC 4648, '+' '/', '=' padding), as Aerospike uses for partition
// bitmaps, .asb digests and blobs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace absvc {

std::string Base64Encode(std::string_view bytes);
void Base64EncodeAppend(std::string_view bytes, std::string& out);
size_t Base64EncodedSize(size_t n);

// Strict: length a multiple of 4, padding only at the end, no whitespace.
std::optional<std::string> Base64Decode(std::string_view text);
bool Base64DecodeAppend(std::string_view text, std::string& out);

}  // namespace absvc
