#include <charconv>
#include <cmath>
#include <cstdio>

#include "asb/asb.h"
#include "common/base64.h"
#include "common/bytes.h"
#include "wire/particle.h"

namespace absvc::asb {

void AppendEscaped(std::string& out, std::string_view name) {
  for (char c : name) {
    if (c == '\\' || c == ' ' || c == '\n') out.push_back('\\');
    out.push_back(c);
  }
}

namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// asbackup's %.17g, which both asrestore and backup-go read back exactly; NaN is written
// without a sign because backup-go cannot read "-nan".
void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-inf" : "inf";
    return;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, static_cast<size_t>(n));
}

// Length-prefixed raw bytes: "<len> <raw>".
void AppendRaw(std::string& out, std::string_view bytes) {
  AppendUint(out, bytes.size());
  out.push_back(' ');
  out.append(bytes);
}

void AppendBase64(std::string& out, std::string_view bytes) {
  AppendUint(out, Base64EncodedSize(bytes.size()));
  out.push_back(' ');
  Base64EncodeAppend(bytes, out);
}

// The .asb letter of a bytes-like particle type, or 0.
char BytesLetter(uint8_t type) {
  switch (type) {
    case 4:
      return 'B';
    case 7:
      return 'J';
    case 8:
      return 'C';
    case 9:
      return 'P';
    case 10:
      return 'R';
    case 11:
      return 'H';
    case 12:
      return 'E';
    case 18:
      return 'Y';
    case 19:
      return 'M';
    case 20:
      return 'L';
    default:
      return 0;
  }
}

}  // namespace

void Encoder::AppendHeader(std::string& out, std::string_view ns, bool first_file) {
  out += "Version 3.1\n# namespace ";
  AppendEscaped(out, ns);
  out.push_back('\n');
  if (first_file) out += "# first-file\n";
}

void Encoder::AppendSindex(std::string& out, const SindexDefinition& s) {
  out += "* i ";
  AppendEscaped(out, s.ns);
  out.push_back(' ');
  AppendEscaped(out, s.set);
  out.push_back(' ');
  AppendEscaped(out, s.name);
  out.push_back(' ');
  out.push_back(s.index_type);
  out += " 1 ";
  AppendEscaped(out, s.bin);
  out.push_back(' ');
  out.push_back(s.bin_type);
  if (!s.context.empty()) {
    out.push_back(' ');
    out += s.context;
  }
  out.push_back('\n');
}

void Encoder::AppendUdf(std::string& out, const UdfDefinition& u) {
  out += "* u ";
  out.push_back(u.type);
  out.push_back(' ');
  AppendEscaped(out, u.name);
  out.push_back(' ');
  AppendRaw(out, u.content);
  out.push_back('\n');
}

Status Encoder::AppendRecord(std::string& out, std::string_view ns, std::string_view set,
                             std::string_view user_key, const uint8_t* digest, uint16_t generation,
                             uint32_t void_time, const std::vector<wire::OpView>& bins) const {
  const size_t start = out.size();
  if (!user_key.empty()) {
    uint8_t type = static_cast<uint8_t>(user_key[0]);
    std::string_view value = user_key.substr(1);
    out += "+ k ";
    if (type == 1 && value.size() == 8) {
      out += "I ";
      AppendInt(out, wire::DecodeInteger(value));
    } else if (type == 2 && value.size() == 8) {
      out += "D ";
      AppendDouble(out, wire::DecodeFloat(value));
    } else if (type == 3) {
      out += "S ";
      AppendRaw(out, value);
    } else if (wire::IsBlobType(type)) {
      out += "B ";
      AppendBase64(out, value);
    } else {
      out.resize(start);
      return Status::Corrupt("user key of particle type " + std::to_string(type) +
                             " cannot be written to .asb");
    }
    out.push_back('\n');
  }
  out += "+ n ";
  AppendEscaped(out, ns);
  out += "\n+ d ";
  Base64EncodeAppend(std::string_view(reinterpret_cast<const char*>(digest), wire::kDigestSize),
                     out);
  out.push_back('\n');
  if (!set.empty()) {
    out += "+ s ";
    AppendEscaped(out, set);
    out.push_back('\n');
  }
  out += "+ g ";
  AppendUint(out, generation);
  out += "\n+ t ";
  AppendUint(out, void_time);
  out += "\n+ b ";
  AppendUint(out, bins.size());
  out.push_back('\n');
  for (const auto& bin : bins) {
    const uint8_t type = bin.particle_type;
    auto line = [&](char letter, bool compact) {
      out += "- ";
      out.push_back(letter);
      if (compact) out.push_back('!');
      out.push_back(' ');
      AppendEscaped(out, bin.name);
    };
    if (Status st = wire::ValidateParticle(type, bin.value); !st.ok()) {
      out.resize(start);
      return st.WithContext("bin '" + std::string(bin.name) + "'");
    }
    switch (type) {
      case 0:
        line('N', false);
        break;
      case 1:
        line('I', false);
        out.push_back(' ');
        AppendInt(out, wire::DecodeInteger(bin.value));
        break;
      case 2:
        line('D', false);
        out.push_back(' ');
        AppendDouble(out, wire::DecodeFloat(bin.value));
        break;
      case 3:
        line('S', false);
        out.push_back(' ');
        AppendRaw(out, bin.value);
        break;
      case 17:
        line('Z', false);
        out += bin.value[0] ? " T" : " F";
        break;
      case 23:
        line('G', false);
        out.push_back(' ');
        AppendRaw(out, wire::GeoJsonText(bin.value));
        break;
      default: {
        char letter = BytesLetter(type);
        if (letter == 0) {
          out.resize(start);
          return Status::Unsupported("bin '" + std::string(bin.name) + "' has particle type " +
                                     wire::ParticleTypeName(type) + ", which .asb 3.1 cannot hold");
        }
        line(letter, options_.compact);
        out.push_back(' ');
        if (options_.compact) {
          AppendRaw(out, bin.value);
        } else {
          AppendBase64(out, bin.value);
        }
      }
    }
    out.push_back('\n');
  }
  return Status::Ok();
}

}  // namespace absvc::asb
