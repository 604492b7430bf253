#include "storage/cloud/transfer.h"

#include <algorithm>
#include <cstring>
#include <utility>

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

Result<RangeAnswer> ReadRangeAnswer(HttpResponse res, uint64_t offset, size_t length,
                                    const std::function<Status(const HttpResponse&)>& failure) {
  RangeAnswer answer;
  if (res.status == 416) {  // at or past the end (an empty object, above all)
    answer.past_end = true;
    return answer;
  }
  if (res.status != 200 && res.status != 206) return failure(res);
  if (res.status == 200) {
    answer.object_size = res.body.size();
    res.body.erase(0, std::min<uint64_t>(offset, res.body.size()));
    if (res.body.size() > length) res.body.resize(length);
  } else {
    answer.object_size = SizeFromContentRange(res.Header("content-range"));
  }
  answer.bytes = std::move(res.body);
  return answer;
}

Status PartWriter::Fail(Status st) {
  if (error_.ok()) {
    error_ = st;
    Abandon();
  }
  closed_ = true;
  return st;
}

Status PartWriter::Write(std::string_view data) {
  if (!error_.ok()) return error_;
  if (closed_) return Status::Internal("write to " + name_ + " after close");
  written_ += data.size();
  while (!data.empty()) {
    if (buffer_.capacity() < part_size_) buffer_.reserve(part_size_);
    size_t take = std::min(data.size(), part_size_ - buffer_.size());
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (buffer_.size() == part_size_) {
      Status st = SendPart(std::exchange(buffer_, std::string()));
      if (!st.ok()) return Fail(st);
    }
  }
  return Status::Ok();
}

Status PartWriter::Close() {
  if (!error_.ok() || closed_) return error_;
  Status st = Finish(std::exchange(buffer_, std::string()));
  if (!st.ok()) return Fail(st);
  closed_ = true;
  return Status::Ok();
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
