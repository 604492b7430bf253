// Where one HTTP/1.1 request ends in the bytes a client sent, so that absd's connection
// loop hands a worker only whole requests: a client that sends slowly, or stops halfway,
// holds a buffer and never a thread. It finds the end of the head, then of the body
// (Content-Length or chunked), and refuses what it cannot frame safely: heads or bodies
// over the limits, a length that is not a number, both framings at once, or any transfer
// coding but chunked. Parsing what the request means (method, target, header values) is
// left to httplib once the request is whole. No sockets, no threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace absvc::service {

class RequestFramer {
 public:
  struct Limits {
    size_t max_head_bytes = 64 << 10;  // request line, headers, and chunked trailers
    size_t max_body_bytes = 16 << 20;
  };
  enum class State { kNeedMore, kComplete, kBad };

  explicit RequestFramer(Limits limits) : limits_(limits) {}

  // `received` holds every byte since the request began (or since the last Reset): each
  // call passes the same bytes as the previous one, perhaps with more after them. Work
  // already done is not repeated, so feeding a request byte by byte stays linear.
  State Feed(std::string_view received);
  void Reset() { *this = RequestFramer(limits_); }

  State state() const { return state_; }
  bool head_complete() const { return head_done_; }
  // Once complete: the request is received[begin(), end()); blank lines before it, which
  // clients may send between requests, are [0, begin()).
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }
  // Once the head is complete.
  std::optional<size_t> content_length() const { return content_length_; }
  bool chunked() const { return chunked_; }
  bool expects_continue() const { return expects_continue_; }
  // Once bad: the HTTP status to answer with (400, 413, 431 or 501) and why.
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }

 private:
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };
  // The next '\n' at or after pos_, or npos; bytes already searched are not searched
  // again, so a line that arrives a byte at a time costs its length, not its square.
  size_t NextNewline(std::string_view received);
  State Bad(int status, std::string why);
  State ParseRequestLine(std::string_view line);
  State ParseHeader(std::string_view line);
  State FeedChunked(std::string_view received);

  Limits limits_;
  State state_ = State::kNeedMore;
  size_t pos_ = 0;      // the first byte not yet parsed
  size_t scanned_ = 0;  // searched for a line end up to here
  size_t begin_ = 0, end_ = 0;
  bool request_line_seen_ = false, head_done_ = false;
  std::optional<size_t> content_length_;
  bool chunked_ = false, expects_continue_ = false;
  Chunk chunk_ = Chunk::kSize;
  size_t chunk_left_ = 0, body_bytes_ = 0, trailer_start_ = 0;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace absvc::service
