// Text helpers for messages that quote outside input.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace absvc {

// `value` as an error message may quote it: whole when short, else its first `max` bytes
// and how long it was, so a 50 MB field never travels back in an error. A cut never
// splits a UTF-8 sequence.
inline std::string ShortValue(std::string_view value, size_t max = 64) {
  if (value.size() <= max) return std::string(value);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(value.substr(0, cut)) + "... (" + std::to_string(value.size()) + " bytes)";
}

// ASCII letters in lower case; other bytes as they are.
inline std::string AsciiLower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Leading and trailing white space dropped, and each run inside (line breaks of a folded
// header included) made one space: how signing schemes canonicalize header values.
inline std::string CollapseWhitespace(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// What the job history and the logs keep of an error: bounded, whatever it quotes.
inline std::string ShortError(const Status& st) {
  return ShortValue(st.ToString(), 8192);
}

}  // namespace absvc
