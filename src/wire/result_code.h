// Server result codes: the byte an Aerospike answer carries in its message header (and
// the code a login or admin answer carries). Named here once, for the client that reads
// them, the restore that counts them and the devcluster that sends them.
#pragma once

#include <cstdint>
#include <string>

namespace absvc::wire::result {

inline constexpr uint8_t kOk = 0;
inline constexpr uint8_t kServerError = 1;
inline constexpr uint8_t kKeyNotFound = 2;
inline constexpr uint8_t kGenerationError = 3;
inline constexpr uint8_t kParameterError = 4;
inline constexpr uint8_t kKeyExists = 5;
inline constexpr uint8_t kClusterKeyMismatch = 7;
inline constexpr uint8_t kServerFull = 8;
inline constexpr uint8_t kTimeout = 9;
inline constexpr uint8_t kPartitionUnavailable = 11;
inline constexpr uint8_t kIncompatibleBinType = 12;
inline constexpr uint8_t kRecordTooBig = 13;
inline constexpr uint8_t kKeyBusy = 14;
inline constexpr uint8_t kUnsupportedFeature = 16;
inline constexpr uint8_t kDeviceOverload = 18;
inline constexpr uint8_t kKeyMismatch = 19;
inline constexpr uint8_t kNamespaceNotFound = 20;
inline constexpr uint8_t kBinNameError = 21;
inline constexpr uint8_t kForbidden = 22;
inline constexpr uint8_t kEnterpriseOnly = 25;
inline constexpr uint8_t kFilteredOut = 27;
inline constexpr uint8_t kNotAuthenticated = 80;
inline constexpr uint8_t kRoleViolation = 81;
inline constexpr uint8_t kQuotaExceeded = 83;
inline constexpr uint8_t kUdfError = 100;
inline constexpr uint8_t kBatchMaxRequests = 151;
inline constexpr uint8_t kBatchQueuesFull = 152;

// "generation error", ...; unknown codes as "result N".
std::string Name(int code);

}  // namespace absvc::wire::result
