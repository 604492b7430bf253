// Request framing on bytes from any client: the first input byte picks where the rest is
// cut into arrivals. Fed whole or in pieces, the framer must reach the same verdict and
// the same request bounds, never read past what arrived, and never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/http_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using absvc::service::RequestFramer;
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 17;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestFramer::Limits limits{512, 4096};
  RequestFramer whole(limits), pieces(limits);
  auto verdict = whole.Feed(bytes);
  auto state = RequestFramer::State::kNeedMore;
  for (size_t n = std::min(step, bytes.size()); state == RequestFramer::State::kNeedMore;
       n = std::min(n + step, bytes.size())) {
    state = pieces.Feed(bytes.substr(0, n));
    if (n == bytes.size()) break;
  }
  // Pieces may finish a request before all bytes are fed; whole feeding sees the same one.
  if (state != verdict) __builtin_trap();
  if (verdict == RequestFramer::State::kComplete) {
    if (whole.begin() != pieces.begin() || whole.end() != pieces.end()) __builtin_trap();
    if (whole.begin() > whole.end() || whole.end() > bytes.size()) __builtin_trap();
  }
  if (verdict == RequestFramer::State::kBad && whole.error_status() != pieces.error_status())
    __builtin_trap();
  return 0;
}
