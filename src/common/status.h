// Status and Result: the one error type of abs. Returned, never thrown across a module.
// A Status says what failed and where, in words an operator can act on.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace absvc {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a user: flags, config, API body
  kCorrupt,          // bad bytes: a backup file or a network peer sent something malformed
  kIo,               // local or remote storage failed
  kNetwork,          // connect, reset, short read
  kTimeout,
  kServer,  // the server answered with a result code (see server_code)
  kNotFound,
  kUnavailable,  // partition or node not available right now; retryable
  kCancelled,
  kUnsupported,
  kInternal,
  kConflict,  // the request clashes with work in progress or with other state
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, int server_code = 0)
      : code_(code), server_code_(server_code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
  static Status Io(std::string m) { return {StatusCode::kIo, std::move(m)}; }
  static Status Network(std::string m) { return {StatusCode::kNetwork, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Server(int result_code, std::string m) {
    return {StatusCode::kServer, std::move(m), result_code};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The Aerospike result code when code() == kServer, else 0.
  int server_code() const { return server_code_; }
  const std::string& message() const { return message_; }

  // "corrupt: <message>"; "ok" when ok.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  int server_code_ = 0;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                                  // NOLINT implicit
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace absvc

#define ABS_CONCAT_INNER(a, b) a##b
#define ABS_CONCAT(a, b) ABS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define ABS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absvc::Status abs_status_ = (expr);      \
    if (!abs_status_.ok()) return abs_status_; \
  } while (0)

// `ABS_ASSIGN_OR_RETURN(auto x, ComputeX());`
#define ABS_ASSIGN_OR_RETURN(lhs, expr) \
  ABS_ASSIGN_OR_RETURN_IMPL(ABS_CONCAT(abs_result_, __LINE__), lhs, expr)
#define ABS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()
