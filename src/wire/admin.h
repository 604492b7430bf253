// The admin/security protocol (proto type 2): a 16-byte header after the proto header,
// then fields [u32 BE size = 1 + len][u8 id][data]. Used for LOGIN and AUTHENTICATE.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::wire {

inline constexpr size_t kAdminHeaderSize = 16;

enum class AdminCommand : uint8_t {
  kAuthenticate = 0,
  kCreateUser = 1,
  kDropUser = 2,
  kSetPassword = 3,
  kChangePassword = 4,
  kGrantRoles = 5,
  kRevokeRoles = 6,
  kQueryUsers = 9,
  kCreateRole = 10,
  kDropRole = 11,
  kGrantPrivileges = 12,
  kRevokePrivileges = 13,
  kSetWhitelist = 14,
  kSetQuotas = 15,
  kQueryRoles = 16,
  kLogin = 20,
};

enum class AdminField : uint8_t {
  kUser = 0,
  kPassword = 1,
  kOldPassword = 2,
  kCredential = 3,
  kClearPassword = 4,
  kSessionToken = 5,
  kSessionTtl = 6,
  kRoles = 10,
};

// Admin result codes the login path uses.
namespace admin_result {
inline constexpr uint8_t kOk = 0;
inline constexpr uint8_t kSecurityNotSupported = 51;
inline constexpr uint8_t kSecurityNotEnabled = 52;
inline constexpr uint8_t kInvalidCommand = 54;
inline constexpr uint8_t kInvalidField = 55;
inline constexpr uint8_t kInvalidUser = 60;
inline constexpr uint8_t kInvalidPassword = 62;
inline constexpr uint8_t kInvalidCredential = 65;
inline constexpr uint8_t kExpiredSession = 66;
inline constexpr uint8_t kNotAuthenticated = 80;
}  // namespace admin_result

struct AdminFieldView {
  AdminField id;
  std::string_view data;
};

struct AdminMessage {
  uint8_t result = 0;
  AdminCommand command = AdminCommand::kAuthenticate;
  std::vector<AdminFieldView> fields;

  std::string_view Field(AdminField id) const;
  bool Has(AdminField id) const;
};

// A complete admin proto (proto header included).
std::string EncodeAdminMessage(AdminCommand command, uint8_t result,
                               const std::vector<std::pair<AdminField, std::string>>& fields);

// Decodes an admin body (after the 8-byte proto header); views point into `body`.
Status DecodeAdminMessage(std::string_view body, AdminMessage* out);

// The bcrypt credential the client sends: crypt(password, "$2a$10$7EqJtq98hPqEX7fNZaFWoO").
Result<std::string> HashPasswordCredential(std::string_view password);

}  // namespace absvc::wire
