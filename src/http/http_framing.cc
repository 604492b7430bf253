#include "http/http_framing.h"

#include <algorithm>
#include <cctype>

#include "common/text.h"

namespace absvc::service {
namespace {

constexpr size_t kMaxChunkLine = 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters: a header name with anything else (a space before the colon
// above all) is how requests are smuggled past a proxy, so it is refused.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string_view LineAt(std::string_view s, size_t from, size_t newline) {
  std::string_view line = s.substr(from, newline - from);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

size_t RequestFramer::NextNewline(std::string_view received) {
  size_t newline = received.find('\n', std::max(pos_, scanned_));
  if (newline == std::string_view::npos) scanned_ = received.size();
  return newline;
}

RequestFramer::State RequestFramer::Bad(int status, std::string why) {
  error_status_ = status;
  error_ = std::move(why);
  return state_ = State::kBad;
}

// "METHOD SP request-target SP HTTP/1.x" (RFC 9112 section 3). Checked here rather than left
// to httplib, whose own 400 names nothing and keeps the connection open after it.
RequestFramer::State RequestFramer::ParseRequestLine(std::string_view line) {
  const size_t first = line.find(' ');
  const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
    return Bad(400, "malformed request line '" + ShortValue(line) +
                        "' (expected: METHOD target HTTP/1.1)");
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!IsToken(method)) return Bad(400, "malformed request method '" + ShortValue(method) + "'");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      }))
    return Bad(400, "malformed request target '" + ShortValue(target) + "'");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && std::isdigit(version[5]) &&
        version[6] == '.' && std::isdigit(version[7]))
      return Bad(505,
                 "HTTP version '" + ShortValue(version) + "' is not supported (only 1.0 and 1.1)");
    return Bad(400, "malformed HTTP version '" + ShortValue(version) + "'");
  }
  return State::kNeedMore;
}

RequestFramer::State RequestFramer::ParseHeader(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t')
    return Bad(400, "a header line starts with white space (obsolete line folding)");
  size_t colon = line.find(':');
  std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
  if (colon == std::string_view::npos || !IsToken(name))
    return Bad(400, "malformed header line '" + ShortValue(line) + "'");
  std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsIgnoreCase(name, "Content-Length")) {
    if (value.empty() || value.size() > 19 ||
        value.find_first_not_of("0123456789") != std::string_view::npos)
      return Bad(400, "Content-Length '" + ShortValue(value) + "' is not a number");
    size_t n = std::stoull(std::string(value));
    if (content_length_ && *content_length_ != n)
      return Bad(400, "the request has two different Content-Length headers");
    if (n > limits_.max_body_bytes)
      return Bad(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) +
                          " bytes");
    content_length_ = n;
  } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
    if (chunked_) return Bad(400, "the request has two Transfer-Encoding headers");
    if (!EqualsIgnoreCase(value, "chunked"))
      return Bad(501,
                 "Transfer-Encoding '" + ShortValue(value) + "' is not supported (only chunked)");
    chunked_ = true;
  } else if (EqualsIgnoreCase(name, "Expect")) {
    expects_continue_ = EqualsIgnoreCase(value, "100-continue");
  }
  return State::kNeedMore;
}

RequestFramer::State RequestFramer::Feed(std::string_view received) {
  if (state_ != State::kNeedMore) return state_;
  while (!head_done_) {
    size_t newline = NextNewline(received);
    // Blank lines before the request count too: an endless stream of them is refused.
    size_t head_bytes = (newline == std::string_view::npos ? received.size() : newline + 1);
    if (head_bytes > limits_.max_head_bytes)
      return Bad(431, "the request head is larger than " + std::to_string(limits_.max_head_bytes) +
                          " bytes");
    if (newline == std::string_view::npos) return State::kNeedMore;
    std::string_view line = LineAt(received, pos_, newline);
    pos_ = newline + 1;
    if (!request_line_seen_) {
      if (line.empty()) {
        begin_ = pos_;
        continue;
      }
      request_line_seen_ = true;
      if (ParseRequestLine(line) == State::kBad) return state_;
      continue;
    }
    if (line.empty()) {
      head_done_ = true;
      break;
    }
    if (ParseHeader(line) == State::kBad) return state_;
  }
  if (chunked_ && content_length_)
    return Bad(400, "the request has both Content-Length and Transfer-Encoding");
  if (chunked_) return FeedChunked(received);
  size_t body = content_length_.value_or(0);
  if (received.size() - pos_ < body) return State::kNeedMore;
  end_ = pos_ + body;
  return state_ = State::kComplete;
}

RequestFramer::State RequestFramer::FeedChunked(std::string_view received) {
  while (true) {
    switch (chunk_) {
      case Chunk::kSize: {
        size_t newline = NextNewline(received);
        if (newline == std::string_view::npos) {
          if (received.size() - pos_ > kMaxChunkLine)
            return Bad(400, "a chunk-size line is too long");
          return State::kNeedMore;
        }
        if (newline - pos_ > kMaxChunkLine) return Bad(400, "a chunk-size line is too long");
        std::string_view line = LineAt(received, pos_, newline);
        std::string_view hex = Trim(line.substr(0, line.find(';')));
        if (hex.empty() ||
            hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
          return Bad(400, "chunk size '" + ShortValue(line) + "' is not hexadecimal");
        // Leading zeros say nothing; more than 15 digits is beyond any body accepted.
        const size_t first = hex.find_first_not_of('0');
        hex = first == std::string_view::npos ? std::string_view("0") : hex.substr(first);
        if (hex.size() > 15) return Bad(413, "chunk size '" + ShortValue(line) + "' is too large");
        size_t size = std::stoull(std::string(hex), nullptr, 16);
        pos_ = newline + 1;
        if (size == 0) {
          chunk_ = Chunk::kTrailer;
          trailer_start_ = pos_;
          break;
        }
        body_bytes_ += size;
        if (body_bytes_ > limits_.max_body_bytes)
          return Bad(413, "the request body is larger than " +
                              std::to_string(limits_.max_body_bytes) + " bytes");
        chunk_left_ = size;
        chunk_ = Chunk::kData;
        break;
      }
      case Chunk::kData: {
        size_t take = std::min(chunk_left_, received.size() - pos_);
        pos_ += take;
        chunk_left_ -= take;
        if (chunk_left_ > 0) return State::kNeedMore;
        chunk_ = Chunk::kDataEnd;
        break;
      }
      case Chunk::kDataEnd: {
        if (received.size() - pos_ < 1) return State::kNeedMore;
        if (received[pos_] == '\r') {
          if (received.size() - pos_ < 2) return State::kNeedMore;
          ++pos_;
        }
        if (received[pos_] != '\n')
          return Bad(400, "a chunk's data does not end where its size says");
        ++pos_;
        chunk_ = Chunk::kSize;
        break;
      }
      case Chunk::kTrailer: {
        size_t newline = NextNewline(received);
        size_t trailer_bytes =
            (newline == std::string_view::npos ? received.size() : newline + 1) - trailer_start_;
        if (trailer_bytes > limits_.max_head_bytes)
          return Bad(431, "the request's trailers are larger than " +
                              std::to_string(limits_.max_head_bytes) + " bytes");
        if (newline == std::string_view::npos) return State::kNeedMore;
        std::string_view line = LineAt(received, pos_, newline);
        pos_ = newline + 1;
        if (line.empty()) {
          end_ = pos_;
          return state_ = State::kComplete;
        }
        break;
      }
    }
  }
}

}  // namespace absvc::service
