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

// Every code has a factory: Error::X(message) and, when the error is about
// one input field, Error::X(field, message). The field always comes first
// and the message last, whatever the code.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;  // empty unless the error is about one input field

  static Error of(ErrorCode code, std::string message, std::string field = {}) {
    return {code, std::move(message), std::move(field)};
  }

  static Error not_found(std::string message) { return of(ErrorCode::kNotFound, std::move(message)); }
  static Error not_found(std::string field, std::string message) {
    return of(ErrorCode::kNotFound, std::move(message), std::move(field));
  }
  static Error invalid(std::string message) { return of(ErrorCode::kInvalidArgument, std::move(message)); }
  static Error invalid(std::string field, std::string message) {
    return of(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
  }
  static Error conflict(std::string message) { return of(ErrorCode::kConflict, std::move(message)); }
  static Error conflict(std::string field, std::string message) {
    return of(ErrorCode::kConflict, std::move(message), std::move(field));
  }
  static Error unauthenticated(std::string message) { return of(ErrorCode::kUnauthenticated, std::move(message)); }
  static Error unauthenticated(std::string field, std::string message) {
    return of(ErrorCode::kUnauthenticated, std::move(message), std::move(field));
  }
  static Error permission_denied(std::string message) { return of(ErrorCode::kPermissionDenied, std::move(message)); }
  static Error permission_denied(std::string field, std::string message) {
    return of(ErrorCode::kPermissionDenied, std::move(message), std::move(field));
  }
  static Error gone(std::string message) { return of(ErrorCode::kGone, std::move(message)); }
  static Error gone(std::string field, std::string message) {
    return of(ErrorCode::kGone, std::move(message), std::move(field));
  }
  static Error unavailable(std::string message) { return of(ErrorCode::kUnavailable, std::move(message)); }
  static Error unavailable(std::string field, std::string message) {
    return of(ErrorCode::kUnavailable, std::move(message), std::move(field));
  }
  static Error deadline_exceeded(std::string message) { return of(ErrorCode::kDeadlineExceeded, std::move(message)); }
  static Error deadline_exceeded(std::string field, std::string message) {
    return of(ErrorCode::kDeadlineExceeded, std::move(message), std::move(field));
  }
  static Error upstream(std::string message) { return of(ErrorCode::kUpstream, std::move(message)); }
  static Error upstream(std::string field, std::string message) {
    return of(ErrorCode::kUpstream, std::move(message), std::move(field));
  }
  static Error resource_exhausted(std::string message) { return of(ErrorCode::kResourceExhausted, std::move(message)); }
  static Error resource_exhausted(std::string field, std::string message) {
    return of(ErrorCode::kResourceExhausted, std::move(message), std::move(field));
  }
  static Error internal(std::string message) { return of(ErrorCode::kInternal, std::move(message)); }
  static Error internal(std::string field, std::string message) {
    return of(ErrorCode::kInternal, std::move(message), std::move(field));
  }
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

// Early returns for code that calls fallible operations in sequence (the
// service and the daemon use them; so may embedders):
//
//   CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, max));   // Status or Result<T>
//   CHAT_ASSIGN_OR_RETURN(auto c, visible_conversation(who, key));
//   use(c);                                                      // c is the value, moved out
//
// Both return the Error from the enclosing function, which must return a
// Status or a Result<U> (an Error converts to either).
#define CHAT_RETURN_IF_ERROR(expr)                                  \
  do {                                                              \
    auto chat_status_ = (expr);                                     \
    if (!chat_status_.ok()) return std::move(chat_status_).error(); \
  } while (false)

#define CHAT_RESULT_CONCAT_INNER_(a, b) a##b
#define CHAT_RESULT_CONCAT_(a, b) CHAT_RESULT_CONCAT_INNER_(a, b)
#define CHAT_ASSIGN_OR_RETURN(lhs, expr) \
  CHAT_ASSIGN_OR_RETURN_IMPL_(CHAT_RESULT_CONCAT_(chat_result_, __LINE__), lhs, expr)
#define CHAT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()

}  // namespace chat
