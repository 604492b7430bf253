// Streaming .asb decoder. Accepts versions 3.0 (no escaping), 3.1 and 3.2, and what
// asbackup and backup-go write (base64 and compact "!" values, keys of every type).
// Every error names the file and the byte offset where it was found.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "asb/asb.h"
#include "common/status.h"
#include "wire/digest.h"

namespace absvc::asb {

// Where the decoder's bytes come from (a file, a storage object, decompression...).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 means end of stream.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

struct DecodedBin {
  std::string name;
  uint8_t particle_type = 0;
  std::string value;  // wire form: integers and floats 8 bytes BE, geojson with its header
};

// One record. Reuse one DecodedRecord across Next() calls: its strings and bins keep
// their capacity, so decoding does not allocate per record once warmed up.
struct DecodedRecord {
  std::string ns;
  std::string set;
  std::string key;  // KEY field form: particle type byte + bytes; empty = no user key
  wire::Digest digest{};
  uint16_t generation = 0;
  uint32_t void_time = 0;
  std::vector<DecodedBin> bins;  // the first bin_count entries are this record's
  size_t bin_count = 0;
};

enum class ItemKind { kRecord, kSindex, kUdf, kEnd };

class Decoder {
 public:
  Decoder(std::unique_ptr<ByteSource> source, std::string file_name);

  // Reads "Version" and the "#" lines. Call once before Next().
  Status ReadHeader();
  const std::string& ns() const { return ns_; }
  bool first_file() const { return first_file_; }
  const std::string& version() const { return version_; }

  // The next item; fills the matching output.
  Result<ItemKind> Next(DecodedRecord* record, SindexDefinition* sindex, UdfDefinition* udf);

  uint64_t offset() const { return consumed_; }

 private:
  Status Error(const std::string& what) const;
  bool Fill(size_t n);  // at least n bytes buffered; false at end of stream
  Result<char> Peek();
  Result<char> Get();
  Status Expect(std::string_view text);
  // A token up to one of the delimiters (not consumed), unescaping when the file escapes.
  Status Token(std::string* out, std::string_view delimiters, size_t max = 1000);
  Result<int64_t> Int(char terminator);
  Result<uint64_t> Uint(char terminator, uint64_t max);
  Result<double> Float(char terminator);
  Status Raw(size_t n, std::string* out);
  Status LengthAndBytes(bool base64, std::string* out);
  // "<letter>[!] ": a key or bin type letter, and whether the value is raw ("!").
  Status TypeLetter(char* type, bool* compact);

  Status ReadRecord(DecodedRecord* r);
  Status ReadBin(DecodedBin* bin);
  Status ReadSindex(SindexDefinition* s);
  Status ReadUdf(UdfDefinition* u);

  std::unique_ptr<ByteSource> source_;
  std::string file_;
  std::string buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  Status read_error_;
  uint64_t consumed_ = 0;
  std::string version_;
  bool escaped_ = true;
  std::string ns_;
  bool first_file_ = false;
  std::string scratch_;
  std::string base64_;
};

}  // namespace absvc::asb
