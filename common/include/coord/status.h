// Status and Result<T>: how every Coord module reports failure.
//
// Coord does not throw across module edges. A function that can fail returns a
// Status (no value) or a Result<T> (a value or a Status). Both are [[nodiscard]]:
// ignoring a failure is a compile-time warning (an error with -Werror).
//
//   Status s = storage->Save(batch);
//   if (!s.ok()) return s;
//
//   Result<Term> t = log.term(i);
//   if (!t.ok()) return t.status();
//   use(*t);
//
// Thread-safety: values; safe to copy between threads, not to mutate concurrently.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace coord {

// The error codes of the whole system. The first group is the public API's list
// (docs/protocol.md); the rest are internal and map to UNAVAILABLE or INTERNAL at
// the API edge.
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kCompacted,
  kSessionExpired,
  kConflict,
  kTimeout,
  kUnavailable,
  kTooLarge,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,  // a count limit (sessions, watches) is reached
  // Internal codes.
  kNotLeader,   // this member is not the Raft leader; message may carry a hint
  kAborted,     // the operation was cancelled (shutdown, leadership lost)
  kCorruption,  // persisted data failed a checksum or could not be decoded
  kIOError,     // the operating system refused a read or write
  kInternal,    // a bug: an invariant did not hold
};

// Returns the stable upper-case name of a code, e.g. "NOT_FOUND".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status. Cheap: no allocation.
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Compacted(std::string m) { return {StatusCode::kCompacted, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status NotLeader(std::string m) { return {StatusCode::kNotLeader, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "CODE: message".
  std::string ToString() const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

// A value of type T or a non-OK Status. Constructing a Result from an OK Status
// is a bug and asserts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }

  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  // Precondition: ok().
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace coord

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define COORD_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::coord::Status coord_status_ = (expr);  \
    if (!coord_status_.ok()) return coord_status_; \
  } while (0)
