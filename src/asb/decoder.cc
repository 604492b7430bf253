#include "asb/decoder.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/base64.h"
#include "common/bytes.h"
#include "wire/particle.h"

namespace absvc::asb {

namespace {
constexpr size_t kReadChunk = 64 << 10;
constexpr uint64_t kMaxValueBytes = 128ull << 20;
}  // namespace

Result<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Decoder::Decoder(std::unique_ptr<ByteSource> source, std::string file_name)
    : source_(std::move(source)), file_(std::move(file_name)) {}

Status Decoder::Error(const std::string& what) const {
  return Status::Corrupt(file_ + ": byte " + std::to_string(consumed_) + ": " + what);
}

bool Decoder::Fill(size_t n) {
  while (end_ - pos_ < n && !eof_) {
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    // Grow with what actually arrives, so a length prefix that lies about a huge value
    // in a small file cannot make us allocate it.
    if (buf_.size() - end_ < kReadChunk) buf_.resize(std::max(buf_.size() * 2, end_ + kReadChunk));
    auto r = source_->Read(buf_.data() + end_, buf_.size() - end_);
    if (!r.ok() || *r == 0) {
      eof_ = true;
      read_error_ = r.ok() ? Status::Ok() : r.status();
      break;
    }
    end_ += *r;
  }
  return end_ - pos_ >= n;
}

Result<char> Decoder::Peek() {
  if (!Fill(1)) {
    if (!read_error_.ok()) return read_error_.WithContext(file_);
    return Error("unexpected end of file");
  }
  return buf_[pos_];
}

Result<char> Decoder::Get() {
  ABS_ASSIGN_OR_RETURN(char c, Peek());
  ++pos_;
  ++consumed_;
  return c;
}

Status Decoder::Expect(std::string_view text) {
  for (char want : text) {
    ABS_ASSIGN_OR_RETURN(char c, Get());
    if (c != want) {
      std::string shown = want == '\n' ? "a newline" : std::string("'") + want + "'";
      return Error("expected " + shown + " (in \"" + std::string(text) + "\")");
    }
  }
  return Status::Ok();
}

Status Decoder::Token(std::string* out, std::string_view delimiters, size_t max) {
  out->clear();
  while (true) {
    ABS_ASSIGN_OR_RETURN(char c, Peek());
    if (delimiters.find(c) != std::string_view::npos) return Status::Ok();
    ++pos_;
    ++consumed_;
    if (c == '\\' && escaped_) {
      ABS_ASSIGN_OR_RETURN(c, Get());
    }
    if (out->size() >= max) return Error("token longer than " + std::to_string(max) + " bytes");
    out->push_back(c);
  }
}

Result<int64_t> Decoder::Int(char terminator) {
  ABS_RETURN_IF_ERROR(Token(&scratch_, std::string_view(&terminator, 1), 24));
  ABS_RETURN_IF_ERROR(Expect(std::string_view(&terminator, 1)));
  int64_t v = 0;
  auto [p, ec] = std::from_chars(scratch_.data(), scratch_.data() + scratch_.size(), v);
  if (scratch_.empty() || ec != std::errc() || p != scratch_.data() + scratch_.size()) {
    return Error("'" + scratch_ + "' is not an integer");
  }
  return v;
}

Result<uint64_t> Decoder::Uint(char terminator, uint64_t max) {
  ABS_RETURN_IF_ERROR(Token(&scratch_, std::string_view(&terminator, 1), 24));
  ABS_RETURN_IF_ERROR(Expect(std::string_view(&terminator, 1)));
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(scratch_.data(), scratch_.data() + scratch_.size(), v);
  if (scratch_.empty() || ec != std::errc() || p != scratch_.data() + scratch_.size()) {
    return Error("'" + scratch_ + "' is not a non-negative integer");
  }
  if (v > max) return Error(scratch_ + " exceeds " + std::to_string(max));
  return v;
}

Result<double> Decoder::Float(char terminator) {
  ABS_RETURN_IF_ERROR(Token(&scratch_, std::string_view(&terminator, 1), 64));
  ABS_RETURN_IF_ERROR(Expect(std::string_view(&terminator, 1)));
  // Any strtod form: asbackup's %.17g, backup-go's shortest form, nan and inf.
  for (char c : scratch_) {
    bool ok = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
              std::strchr("nNaAiIfFtTyY", c) != nullptr;
    if (!ok) return Error("'" + scratch_ + "' is not a floating-point number");
  }
  char* end = nullptr;
  double v = std::strtod(scratch_.c_str(), &end);
  if (scratch_.empty() || end != scratch_.c_str() + scratch_.size()) {
    return Error("'" + scratch_ + "' is not a floating-point number");
  }
  return v;
}

Status Decoder::Raw(size_t n, std::string* out) {
  if (!Fill(n)) {
    if (!read_error_.ok()) return read_error_.WithContext(file_);
    return Error("value of " + std::to_string(n) + " bytes runs past the end of the file");
  }
  out->assign(buf_.data() + pos_, n);
  pos_ += n;
  consumed_ += n;
  return Status::Ok();
}

Status Decoder::LengthAndBytes(bool base64, std::string* out) {
  ABS_ASSIGN_OR_RETURN(uint64_t len, Uint(' ', kMaxValueBytes));
  if (!base64) return Raw(len, out);
  ABS_RETURN_IF_ERROR(Raw(len, &base64_));
  out->clear();
  if (!Base64DecodeAppend(base64_, *out)) return Error("value is not valid base64");
  return Status::Ok();
}

Status Decoder::TypeLetter(char* type, bool* compact) {
  ABS_ASSIGN_OR_RETURN(*type, Get());
  ABS_ASSIGN_OR_RETURN(char next, Peek());
  *compact = next == '!';
  if (*compact) ABS_RETURN_IF_ERROR(Get().status());
  return Expect(" ");
}

Status Decoder::ReadHeader() {
  ABS_RETURN_IF_ERROR(Expect("Version "));
  ABS_RETURN_IF_ERROR(Token(&version_, "\n", 8));
  ABS_RETURN_IF_ERROR(Expect("\n"));
  if (version_ != "3.0" && version_ != "3.1" && version_ != "3.2") {
    return Error("unsupported .asb version '" + version_ + "' (supported: 3.0, 3.1, 3.2)");
  }
  escaped_ = version_ != "3.0";
  while (Fill(1) && buf_[pos_] == '#') {
    ABS_RETURN_IF_ERROR(Expect("# "));
    std::string word;
    ABS_RETURN_IF_ERROR(Token(&word, " \n", 32));
    if (word == "namespace") {
      ABS_RETURN_IF_ERROR(Expect(" "));
      ABS_RETURN_IF_ERROR(Token(&ns_, "\n"));
      ABS_RETURN_IF_ERROR(Expect("\n"));
    } else if (word == "first-file") {
      ABS_RETURN_IF_ERROR(Expect("\n"));
      first_file_ = true;
    } else {
      return Error("unknown meta line '# " + word + "'");
    }
  }
  return Status::Ok();
}

Result<ItemKind> Decoder::Next(DecodedRecord* record, SindexDefinition* sindex,
                               UdfDefinition* udf) {
  if (!Fill(1)) {
    if (!read_error_.ok()) return read_error_.WithContext(file_);
    return ItemKind::kEnd;
  }
  char c = buf_[pos_];
  if (c == '+') {
    ABS_RETURN_IF_ERROR(ReadRecord(record));
    return ItemKind::kRecord;
  }
  if (c == '*') {
    ABS_RETURN_IF_ERROR(Expect("* "));
    ABS_ASSIGN_OR_RETURN(char kind, Get());
    ABS_RETURN_IF_ERROR(Expect(" "));
    if (kind == 'i') {
      ABS_RETURN_IF_ERROR(ReadSindex(sindex));
      return ItemKind::kSindex;
    }
    if (kind == 'u') {
      ABS_RETURN_IF_ERROR(ReadUdf(udf));
      return ItemKind::kUdf;
    }
    return Error(std::string("unknown global line '* ") + kind + "'");
  }
  return Error(std::string("a line cannot start with '") + c + "'");
}

Status Decoder::ReadSindex(SindexDefinition* s) {
  ABS_RETURN_IF_ERROR(Token(&s->ns, " "));
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_RETURN_IF_ERROR(Token(&s->set, " "));
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_RETURN_IF_ERROR(Token(&s->name, " "));
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_ASSIGN_OR_RETURN(s->index_type, Get());
  if (!std::strchr("NLKV", s->index_type)) {
    return Error(std::string("unknown index type '") + s->index_type + "'");
  }
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_ASSIGN_OR_RETURN(uint64_t paths, Uint(' ', 1));
  if (paths != 1) return Error("an index needs exactly one path");
  ABS_RETURN_IF_ERROR(Token(&s->bin, " "));
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_ASSIGN_OR_RETURN(s->bin_type, Get());
  if (!std::strchr("SNGB", s->bin_type)) {
    return Error(std::string("unknown index bin type '") + s->bin_type + "'");
  }
  s->context.clear();
  ABS_ASSIGN_OR_RETURN(char c, Get());
  if (c == ' ') {
    ABS_RETURN_IF_ERROR(Token(&s->context, "\n", 1 << 16));
    ABS_RETURN_IF_ERROR(Expect("\n"));
  } else if (c != '\n') {
    return Error("expected the end of the index line");
  }
  return Status::Ok();
}

Status Decoder::ReadUdf(UdfDefinition* u) {
  ABS_ASSIGN_OR_RETURN(u->type, Get());
  if (u->type != 'L') return Error(std::string("unknown UDF type '") + u->type + "'");
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_RETURN_IF_ERROR(Token(&u->name, " "));
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_RETURN_IF_ERROR(LengthAndBytes(false, &u->content));
  return Expect("\n");
}

Status Decoder::ReadRecord(DecodedRecord* r) {
  r->key.clear();
  r->set.clear();
  ABS_RETURN_IF_ERROR(Expect("+ "));
  ABS_ASSIGN_OR_RETURN(char tag, Get());
  if (tag == 'k') {
    ABS_RETURN_IF_ERROR(Expect(" "));
    char type;
    bool compact;
    ABS_RETURN_IF_ERROR(TypeLetter(&type, &compact));
    std::string& k = r->key;
    switch (type) {
      case 'I': {
        ABS_ASSIGN_OR_RETURN(int64_t v, Int('\n'));
        k.assign(1, '\x01');
        k += wire::EncodeInteger(v);
        break;
      }
      case 'D': {
        ABS_ASSIGN_OR_RETURN(double v, Float('\n'));
        k.assign(1, '\x02');
        k += wire::EncodeFloat(v);
        break;
      }
      case 'S':
      case 'X': {
        ABS_RETURN_IF_ERROR(LengthAndBytes(type == 'X', &scratch_));
        k.assign(1, '\x03');
        k += scratch_;
        ABS_RETURN_IF_ERROR(Expect("\n"));
        break;
      }
      case 'B': {
        ABS_RETURN_IF_ERROR(LengthAndBytes(!compact, &scratch_));
        k.assign(1, '\x04');
        k += scratch_;
        ABS_RETURN_IF_ERROR(Expect("\n"));
        break;
      }
      default:
        return Error(std::string("unknown key type '") + type + "'");
    }
    ABS_RETURN_IF_ERROR(Expect("+ "));
    ABS_ASSIGN_OR_RETURN(tag, Get());
  }
  if (tag != 'n') return Error(std::string("expected '+ n', got '+ ") + tag + "'");
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_RETURN_IF_ERROR(Token(&r->ns, "\n"));
  ABS_RETURN_IF_ERROR(Expect("\n+ d "));
  ABS_RETURN_IF_ERROR(Token(&scratch_, "\n", 64));
  ABS_RETURN_IF_ERROR(Expect("\n"));
  std::string digest;
  if (!Base64DecodeAppend(scratch_, digest) || digest.size() != wire::kDigestSize) {
    return Error("digest '" + scratch_ + "' is not 20 bytes of base64");
  }
  r->digest = wire::DigestFromBytes(digest);
  ABS_RETURN_IF_ERROR(Expect("+ "));
  ABS_ASSIGN_OR_RETURN(tag, Get());
  if (tag == 's') {
    ABS_RETURN_IF_ERROR(Expect(" "));
    ABS_RETURN_IF_ERROR(Token(&r->set, "\n"));
    ABS_RETURN_IF_ERROR(Expect("\n+ "));
    ABS_ASSIGN_OR_RETURN(tag, Get());
  }
  if (tag != 'g') return Error(std::string("expected '+ g', got '+ ") + tag + "'");
  ABS_RETURN_IF_ERROR(Expect(" "));
  ABS_ASSIGN_OR_RETURN(uint64_t gen, Uint('\n', 0xFFFF));
  r->generation = static_cast<uint16_t>(gen);
  ABS_RETURN_IF_ERROR(Expect("+ t "));
  ABS_ASSIGN_OR_RETURN(uint64_t void_time, Uint('\n', 0xFFFFFFFF));
  r->void_time = static_cast<uint32_t>(void_time);
  ABS_RETURN_IF_ERROR(Expect("+ b "));
  ABS_ASSIGN_OR_RETURN(uint64_t count, Uint('\n', 0xFFFF));
  if (r->bins.size() < count) r->bins.resize(count);
  r->bin_count = count;
  for (size_t i = 0; i < count; ++i) {
    Status st = ReadBin(&r->bins[i]);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status Decoder::ReadBin(DecodedBin* bin) {
  ABS_RETURN_IF_ERROR(Expect("- "));
  char type;
  bool compact;
  ABS_RETURN_IF_ERROR(TypeLetter(&type, &compact));
  ABS_RETURN_IF_ERROR(Token(&bin->name, " \n"));
  if (bin->name.empty()) return Error("bin without a name");
  if (type == 'N') {
    bin->particle_type = 0;
    bin->value.clear();
    return Expect("\n");
  }
  ABS_RETURN_IF_ERROR(Expect(" "));
  switch (type) {
    case 'Z': {
      ABS_ASSIGN_OR_RETURN(char v, Get());
      if (v != 'T' && v != 'F') return Error("bool bin must be T or F");
      bin->particle_type = 17;
      bin->value = wire::EncodeBool(v == 'T');
      return Expect("\n");
    }
    case 'I': {
      ABS_ASSIGN_OR_RETURN(int64_t v, Int('\n'));
      bin->particle_type = 1;
      bin->value = wire::EncodeInteger(v);
      return Status::Ok();
    }
    case 'D': {
      ABS_ASSIGN_OR_RETURN(double v, Float('\n'));
      bin->particle_type = 2;
      bin->value = wire::EncodeFloat(v);
      return Status::Ok();
    }
    case 'S':
    case 'X':
      bin->particle_type = 3;
      ABS_RETURN_IF_ERROR(LengthAndBytes(type == 'X', &bin->value));
      return Expect("\n");
    case 'G':
      bin->particle_type = 23;
      ABS_RETURN_IF_ERROR(LengthAndBytes(false, &scratch_));
      bin->value = wire::EncodeGeoJson(scratch_);
      return Expect("\n");
    case 'U':
      return Error("bin '" + bin->name + "' is an LDT, which is not supported");
    default:
      break;
  }
  uint8_t particle = 0;
  switch (type) {
    case 'B':
    case 'J':
    case 'C':
    case 'P':
    case 'R':
    case 'H':
    case 'E':
      particle = 4;
      break;
    case 'Y':
      particle = 18;
      break;
    case 'M':
      particle = 19;
      break;
    case 'L':
      particle = 20;
      break;
    default:
      return Error(std::string("unknown bin type '") + type + "'");
  }
  bin->particle_type = particle;
  ABS_RETURN_IF_ERROR(LengthAndBytes(!compact, &bin->value));
  if (particle == 19 || particle == 20) {
    Status st = wire::ValidateParticle(particle, bin->value);
    if (!st.ok()) return Error("bin '" + bin->name + "': " + st.message());
  }
  return Expect("\n");
}

}  // namespace absvc::asb
