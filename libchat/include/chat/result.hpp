// chat/result.hpp: the one error mechanism of libchat.
//
// Every fallible operation of the library returns Result<T>: either a value or
// an Error{code, message, field}. Nothing the library calls (SQLite, the C++
// runtime, an LLM server) lets an exception cross the public API; storage and
// provider failures are caught where they happen and become an Error with one
// of the codes below. The message is safe to show to a client: it never holds
// SQL, file paths or secrets. `field` names the offending input field when the
// error is about one (invalid_argument), so that HTTP layers can say which.
//
// Result<T> is a value type; it is not thread-safe to mutate one instance from
// two threads, like any other value.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace chat {

enum class ErrorCode {
  kNotFound,          // unknown id, or a resource the caller may not see
  kInvalidArgument,   // malformed or missing input; `field` says which
  kConflict,          // uniqueness or state conflict (e.g. client_id reused)
  kUnauthenticated,   // no or bad credentials
  kPermissionDenied,  // authenticated, but the role is too low
  kGone,              // expired or deactivated (a session past expires_at)
  kUnavailable,       // busy store, overloaded server, provider down: retry later
  kDeadlineExceeded,  // a provider or wait timed out
  kUpstream,          // a provider answered with an error or garbage
  kResourceExhausted, // a bounded resource is full (streams, rate limits)
  kInternal,          // a bug or an unexpected failure; details are logged
};

// Stable lower_snake_case name of a code ("not_found"), used in JSON bodies.
std::string_view to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;  // empty unless the error is about one input field

  static Error not_found(std::string message) { return {ErrorCode::kNotFound, std::move(message), {}}; }
  static Error invalid(std::string field, std::string message) {
    return {ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Error conflict(std::string message, std::string field = {}) {
    return {ErrorCode::kConflict, std::move(message), std::move(field)};
  }
  static Error gone(std::string message) { return {ErrorCode::kGone, std::move(message), {}}; }
  static Error unavailable(std::string message) { return {ErrorCode::kUnavailable, std::move(message), {}}; }
  static Error internal(std::string message) { return {ErrorCode::kInternal, std::move(message), {}}; }
};

// Holds either a T or an Error. Accessing the wrong alternative is a bug and
// asserts in debug builds.
template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace chat
