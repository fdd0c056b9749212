// Status and Result<T>: how every module reports failure (no exceptions across modules).
//
// A Status is ok or carries a Code and a lower-case message that says what went wrong,
// where, and how to fix it. Result<T> holds a T or a non-ok Status. Both are plain values,
// cheap to move, and safe to use from any thread that owns them.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace skiff {

enum class Code {
  kOk = 0,
  kInvalid,        // user input is wrong (exit 2, HTTP 400)
  kNotFound,       // a named object does not exist (HTTP 404)
  kAlreadyExists,  // HTTP 409
  kConflict,       // a stale update: the object changed since it was read (HTTP 409)
  kFailed,         // a run-time failure of a step or resource
  kInternal,       // a bug or an unexpected system error
  kUnavailable,    // a dependency (registry, database) could not be reached
  kDeadline,       // something ran out of time
};

const char* code_name(Code c);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prepends context: "reading ci.yaml: " + message.
  Status with_context(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status internal_error(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status failed(std::string m) { return {Code::kFailed, std::move(m)}; }

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace skiff
