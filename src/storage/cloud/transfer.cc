#include "storage/cloud/transfer.h"

#include <algorithm>
#include <cstring>

namespace absvc::storage::cloud {

std::optional<uint64_t> SizeFromContentRange(const std::string& content_range) {
  size_t slash = content_range.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string total = content_range.substr(slash + 1);
  if (total.empty() || total.size() > 19 ||
      total.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(total);
}

RangedReader::RangedReader(RangeFetch fetch, std::string name, uint64_t offset, size_t chunk)
    : fetch_(std::move(fetch)), name_(std::move(name)), offset_(offset), chunk_size_(chunk) {}

Status RangedReader::Start() {
  return Fetch();
}

Status RangedReader::Fetch() {
  std::string().swap(chunk_);  // the old chunk's memory goes before the next arrives
  pos_ = 0;
  ABS_ASSIGN_OR_RETURN(RangeAnswer answer, fetch_(offset_, chunk_size_));
  if (answer.past_end) {
    size_ = offset_;
    return Status::Ok();
  }
  if (answer.object_size) size_ = answer.object_size;
  if (answer.bytes.size() > chunk_size_) {
    return Status::Corrupt("read " + name_ + ": the server sent more than the range asked for");
  }
  chunk_ = std::move(answer.bytes);
  offset_ += chunk_.size();
  if (chunk_.empty() && (!size_ || offset_ < *size_)) {
    return Status::Network("read " + name_ + ": an empty answer before the end");
  }
  return Status::Ok();
}

Result<size_t> RangedReader::Read(char* buf, size_t n) {
  if (pos_ == chunk_.size()) {
    if (size_ && offset_ >= *size_) return size_t{0};
    ABS_RETURN_IF_ERROR(Fetch());
    if (chunk_.empty()) return size_t{0};
  }
  n = std::min(n, chunk_.size() - pos_);
  std::memcpy(buf, chunk_.data() + pos_, n);
  pos_ += n;
  return n;
}

Status PartPipeline::Submit(int number, std::function<Result<std::string>()> send) {
  if (in_flight_.size() >= max_in_flight_) ABS_RETURN_IF_ERROR(WaitOldest());
  in_flight_.push_back({number, std::async(std::launch::async, std::move(send))});
  return Status::Ok();
}

Status PartPipeline::WaitOldest() {
  auto [number, future] = std::move(in_flight_.front());
  in_flight_.erase(in_flight_.begin());
  auto answer = future.get();
  if (!answer.ok()) return answer.status();
  done_[number] = *answer;
  return Status::Ok();
}

Status PartPipeline::Wait() {
  Status first;
  while (!in_flight_.empty()) {
    Status st = WaitOldest();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Result<std::map<int, std::string>> PartPipeline::Finish() {
  ABS_RETURN_IF_ERROR(Wait());
  return done_;
}

}  // namespace absvc::storage::cloud
