// The .asb backup text format, version 3.1, as asbackup/asrestore and backup-go write and
// read it: a header ("Version 3.1", "# namespace", "# first-file"), global lines for
// secondary indexes ("* i") and UDFs ("* u"), then records ("+ k/n/d/s/g/t/b" lines
// followed by one "- <type> <name> <value>" line per bin). Names escape '\\', ' ' and
// '\n' with a backslash; string values are length-prefixed and raw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wire/digest.h"
#include "wire/message.h"

namespace absvc::asb {

struct SindexDefinition {
  std::string ns;
  std::string set;  // empty = all sets
  std::string name;
  char index_type = 'N';  // N default, L list, K map keys, V map values
  std::string bin;
  char bin_type = 'N';  // S string, N numeric, G geo2dsphere, B blob
  std::string context;  // base64 CDT context, optional
  bool operator==(const SindexDefinition&) const = default;
};

struct UdfDefinition {
  char type = 'L';  // Lua
  std::string name;
  std::string content;
  bool operator==(const UdfDefinition&) const = default;
};

struct EncoderOptions {
  bool compact = false;  // blobs, HLLs, lists and maps raw ("B!") instead of base64
};

// Appends .asb text to a caller-owned buffer, so the hot path reuses one buffer per file.
class Encoder {
 public:
  explicit Encoder(EncoderOptions options = {}) : options_(options) {}

  static void AppendHeader(std::string& out, std::string_view ns, bool first_file);
  static void AppendSindex(std::string& out, const SindexDefinition& sindex);
  static void AppendUdf(std::string& out, const UdfDefinition& udf);

  // One record straight from the wire: `user_key` is the KEY field (particle type byte +
  // bytes, empty when not stored), `bins` the READ ops of a scan answer.
  Status AppendRecord(std::string& out, std::string_view ns, std::string_view set,
                      std::string_view user_key, const uint8_t* digest, uint16_t generation,
                      uint32_t void_time, const std::vector<wire::OpView>& bins) const;

 private:
  EncoderOptions options_;
};

// Escapes '\\', ' ' and '\n' with a backslash.
void AppendEscaped(std::string& out, std::string_view name);

}  // namespace absvc::asb
