#include "storage/cloud/transfer.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
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

namespace {

// Threads that send parts, kept between parts and objects: each keeps its HTTP client and
// so its connection to the storage (a thread per part would open a connection per part),
// and its memory arena is reused rather than a new one touched. There is no cap: every
// caller bounds its own parts in flight. An idle thread leaves after a minute.
class PartSenders {
 public:
  static PartSenders& Get() {
    // Never destroyed: its threads may outlive main.
    static PartSenders* senders = [] {
      auto* s = new PartSenders();
      // A forked child has none of the threads: it starts with no idle ones. The lock is
      // held across fork so the child's copy of it is consistent.
      ::pthread_atfork([] { Get().mu_.lock(); }, [] { Get().mu_.unlock(); },
                       [] {
                         Get().idle_ = 0;
                         new (&Get().wake_) std::condition_variable();  // no waiters here
                         Get().mu_.unlock();
                       });
      return s;
    }();
    return *senders;
  }

  void Run(std::function<void()> task) {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    if (idle_ > 0) {
      --idle_;
      wake_.notify_one();
      return;
    }
    std::thread([this] { Loop(); }).detach();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      if (tasks_.empty()) {
        ++idle_;
        if (!wake_.wait_for(lock, std::chrono::seconds(60), [&] { return !tasks_.empty(); })) {
          --idle_;
          return;
        }
        // Run() took this thread's idle count when it queued the task.
      }
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  size_t idle_ = 0;
};

}  // namespace

Status PartPipeline::Submit(int number, std::function<Result<std::string>()> send) {
  if (in_flight_.size() >= max_in_flight_) ABS_RETURN_IF_ERROR(WaitOldest());
  auto answer = std::make_shared<std::promise<Result<std::string>>>();
  in_flight_.push_back({number, answer->get_future()});
  PartSenders::Get().Run([answer, send = std::move(send)]() mutable {
    auto result = send();
    // The part's buffer is freed before its slot is given back: otherwise the next part
    // can be filling while this one is still held, one part more than the bound.
    send = nullptr;
    answer->set_value(std::move(result));
  });
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
