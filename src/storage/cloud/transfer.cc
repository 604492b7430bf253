#include "storage/cloud/transfer.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
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

std::chrono::milliseconds PartDeadline(const RetrySpec& retry) {
  using std::chrono::milliseconds;
  const int64_t attempts = std::clamp(retry.max_attempts, 1, 1000);
  const int64_t request = retry.request_timeout_ms > 0
                              ? std::min<int64_t>(retry.request_timeout_ms, 24 * 3600 * 1000)
                              : 3600 * 1000;
  const int64_t backoff = std::clamp<int64_t>(retry.max_backoff_ms, 0, 3600 * 1000);
  return milliseconds(attempts * request + (attempts - 1) * backoff + 60 * 1000);
}

PartControl NewPartControl(const StorageSpec& spec, const std::atomic<bool>* cancel) {
  PartControl control;
  const auto threads = std::clamp<int64_t>(4 * spec.max_async_connections, 8, 128);
  control.executor =
      std::make_shared<Executor>(Executor::Options{.max_threads = static_cast<size_t>(threads)});
  control.cancel = std::make_shared<CancelLink>(cancel);
  control.part_deadline = PartDeadline(spec.retry);
  control.memory = ProcessMemoryBudget();
  return control;
}

// One part's answer slot, shared by the waiting pipeline and the task that sends it.
struct PartPipeline::Part {
  int number = 0;
  std::chrono::steady_clock::time_point deadline;
  std::mutex mu;
  std::condition_variable answered;
  std::optional<Result<std::string>> answer;

  void Answer(Result<std::string> result) {
    std::lock_guard lock(mu);
    if (!answer) answer.emplace(std::move(result));
    answered.notify_all();
  }
};

namespace {

// Held by a part's task: a task the executor destroys without running it (its storage
// was closed) still answers, so no wait is left for its deadline.
struct PartTask {
  std::shared_ptr<PartPipeline::Part> part;
  std::function<Result<std::string>()> send;
  std::string object_name;
  MemoryBudget::Lease memory;  // the part's bytes

  PartTask(std::shared_ptr<PartPipeline::Part> p, std::function<Result<std::string>()> s,
           std::string name, MemoryBudget::Lease lease)
      : part(std::move(p)),
        send(std::move(s)),
        object_name(std::move(name)),
        memory(std::move(lease)) {}
  PartTask(const PartTask&) = delete;
  PartTask& operator=(const PartTask&) = delete;
  ~PartTask() {
    if (part) {
      // Dropped unrun: its buffer and memory go back before the waiter hears of it.
      send = nullptr;
      memory.Release();
      part->Answer(Status::Cancelled("part " + std::to_string(part->number) + " of " + object_name +
                                     " was dropped: the storage was closed"));
    }
  }
  void Run() {
    auto result = send();
    // The part's buffer is freed before its slot is answered: otherwise the next part can
    // be filling while this one is still held, one part more than the bound.
    send = nullptr;
    memory.Release();
    part->Answer(std::move(result));
    part.reset();
  }
};

}  // namespace

PartPipeline::PartPipeline(PartControl control, std::string object_name, size_t max_in_flight)
    : control_(std::move(control)),
      object_name_(std::move(object_name)),
      max_in_flight_(std::max<size_t>(1, max_in_flight)) {}

Status PartPipeline::Submit(int number, size_t bytes, std::function<Result<std::string>()> send) {
  if (!failed_.ok()) return failed_;
  while (in_flight_.size() >= max_in_flight_)
    ABS_RETURN_IF_ERROR(WaitOldest());
  if (control_.cancelled()) {
    return failed_ = Status::Cancelled("upload of " + object_name_ + " cancelled");
  }
  MemoryBudget::Lease lease;
  while (control_.memory) {
    if (auto now = control_.memory->TryReserve(bytes)) {
      lease = std::move(*now);
      break;
    }
    // This pipeline's own parts give back memory first; with none out, the budget is
    // waited for (others' parts in flight end by their deadlines).
    if (!in_flight_.empty()) {
      ABS_RETURN_IF_ERROR(WaitOldest());
      continue;
    }
    auto reserved = control_.memory->Reserve(
        bytes, control_.cancel.get(), std::chrono::steady_clock::now() + control_.part_deadline);
    if (!reserved.ok()) {
      return failed_ = reserved.status().WithContext("upload of " + object_name_ + ", part " +
                                                     std::to_string(number));
    }
    lease = std::move(reserved).value();
    break;
  }
  auto part = std::make_shared<Part>();
  part->number = number;
  part->deadline = std::chrono::steady_clock::now() + control_.part_deadline;
  auto task = std::make_shared<PartTask>(part, std::move(send), object_name_, std::move(lease));
  bool posted = control_.executor && control_.executor->Post([task] { task->Run(); });
  if (!posted) {
    return failed_ = Status::Unavailable("upload of " + object_name_ +
                                         ": no thread can send its parts (the storage is closed "
                                         "or the process is out of threads)");
  }
  in_flight_.push_back(std::move(part));
  return Status::Ok();
}

Status PartPipeline::WaitOldest() {
  std::shared_ptr<Part> part = std::move(in_flight_.front());
  in_flight_.pop_front();
  std::unique_lock lock(part->mu);
  while (!part->answer) {
    if (control_.cancelled()) {
      return failed_ = Status::Cancelled("upload of " + object_name_ + " cancelled while part " +
                                         std::to_string(part->number) + " was in flight");
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= part->deadline) {
      return failed_ =
                 Status::Timeout("upload of " + object_name_ + ": part " +
                                 std::to_string(part->number) + " did not finish within " +
                                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                    control_.part_deadline)
                                                    .count()) +
                                 " s");
    }
    // Cancellation is a flag, not a notification: it is looked at every 50 ms.
    part->answered.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                                      part->deadline - now, std::chrono::milliseconds(50)));
  }
  if (!part->answer->ok()) return failed_ = part->answer->status();
  done_[part->number] = **part->answer;
  return Status::Ok();
}

Result<std::map<int, std::string>> PartPipeline::Finish() {
  if (!failed_.ok()) return failed_;
  while (!in_flight_.empty())
    ABS_RETURN_IF_ERROR(WaitOldest());
  return done_;
}

}  // namespace absvc::storage::cloud
