#include "wire/admin.h"

#include <crypt.h>

#include <cstring>

#include "common/bytes.h"
#include "wire/proto.h"

namespace absvc::wire {

std::string_view AdminMessage::Field(AdminField id) const {
  for (const auto& f : fields) {
    if (f.id == id) return f.data;
  }
  return {};
}

bool AdminMessage::Has(AdminField id) const {
  for (const auto& f : fields) {
    if (f.id == id) return true;
  }
  return false;
}

std::string EncodeAdminMessage(AdminCommand command, uint8_t result,
                               const std::vector<std::pair<AdminField, std::string>>& fields) {
  std::string out;
  size_t off = BeginProto(out);
  char header[kAdminHeaderSize] = {};
  header[1] = static_cast<char>(result);
  header[2] = static_cast<char>(command);
  header[3] = static_cast<char>(fields.size());
  out.append(header, kAdminHeaderSize);
  for (const auto& [id, data] : fields) {
    AppendU32BE(out, static_cast<uint32_t>(data.size() + 1));
    AppendU8(out, static_cast<uint8_t>(id));
    out.append(data);
  }
  EndProto(out, off, ProtoType::kAdmin);
  return out;
}

Status DecodeAdminMessage(std::string_view body, AdminMessage* out) {
  if (body.size() < kAdminHeaderSize) {
    return Status::Corrupt("admin message shorter than its 16-byte header");
  }
  out->result = static_cast<uint8_t>(body[1]);
  out->command = static_cast<AdminCommand>(static_cast<uint8_t>(body[2]));
  uint8_t count = static_cast<uint8_t>(body[3]);
  out->fields.clear();
  size_t pos = kAdminHeaderSize;
  for (uint8_t i = 0; i < count; ++i) {
    if (body.size() - pos < 5) return Status::Corrupt("admin field header truncated");
    uint32_t size = LoadU32BE(body.data() + pos);
    if (size < 1 || size - 1 > body.size() - pos - 5) {
      return Status::Corrupt("admin field of " + std::to_string(size) +
                             " bytes runs past the message");
    }
    out->fields.push_back({static_cast<AdminField>(static_cast<uint8_t>(body[pos + 4])),
                           body.substr(pos + 5, size - 1)});
    pos += 4 + size;
  }
  return Status::Ok();
}

Result<std::string> HashPasswordCredential(std::string_view password) {
  struct crypt_data data;
  std::memset(&data, 0, sizeof data);
  std::string pw(password);
  const char* hashed = crypt_r(pw.c_str(), "$2a$10$7EqJtq98hPqEX7fNZaFWoO", &data);
  if (hashed == nullptr || hashed[0] == '*') {
    return Status::Internal("bcrypt is not available in libcrypt");
  }
  return std::string(hashed);
}

}  // namespace absvc::wire
