// rate_limiter.hpp: chatd's rate limits (issue 9), per client address and per
// authenticated principal, by class (rate_limit_policy.hpp).
//
// Where the checks run:
// - the address check in the dispatcher (http_dispatch.cpp), before the
//   handler: it knows the method and the matched pattern, and a refused
//   request never reaches a route, so nothing changes;
// - the principal check in the endpoint adapter (endpoint.hpp), right after
//   authentication, before parsing and the service call. The dispatcher hands
//   the route's classes to it through RequestScope::rate_classes;
// - a creation that only the service can tell (a seed 002 post naming no
//   conversation of the caller's): admit_creation, for address and principal,
//   called by the service just before it creates (rate_limit_policy.hpp).
// A request counts in each of its classes; the first class over its limit
// refuses it (tokens already taken for earlier classes stay spent: the
// request was made).
//
// A refusal renders as 429 resource_exhausted with Retry-After (whole seconds
// until a token is there, at least 1) and the JSON error body of
// http_errors.hpp, alike for every API (like 401/403, never restyled).
//
// State: one TokenBucketTable (token_bucket.hpp) per key kind and enabled
// class, each bounded by RateLimitConfig::max_keys and forgetting full
// buckets. Refusals are counted by class and key kind for /metrics.
//
// Thread-safe. A disabled class (rate 0) has no table and costs nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"
#include "rate_limit_policy.hpp"
#include "request_scope.hpp"
#include "token_bucket.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chatd {

struct RateRefusal {
  RateClass rate_class = RateClass::kWrite;
  RateKey key = RateKey::kAddress;
  std::chrono::seconds retry_after{1};
};

class RateLimiter {
 public:
  // `clock` must outlive the limiter.
  RateLimiter(const chat::Clock& clock, const RateLimitConfig& config);

  // Charges `address` for each class in `classes`; the refusal, if any.
  std::optional<RateRefusal> charge_address(RateClasses classes, std::string_view address);
  // Charges the principal's user id; anonymous principals are never charged.
  std::optional<RateRefusal> charge_principal(RateClasses classes, const chat::Principal& who);

  // Refusals so far, by key kind and class.
  std::uint64_t refused(RateKey key, RateClass c) const noexcept;
  // Buckets held now, over every table.
  std::size_t tracked_keys() const;

 private:
  std::optional<RateRefusal> charge(RateKey key, RateClasses classes, std::string_view id);

  std::unique_ptr<TokenBucketTable> tables_[kRateKeyCount][kRateClassCount];
  std::atomic<std::uint64_t> refused_[kRateKeyCount][kRateClassCount] = {};
};

// Renders a refusal: 429, Retry-After, the JSON error body.
void render_rate_limited(httplib::Response& res, const RateRefusal& refusal);
// Replaces the response's Retry-After (whole seconds).
void set_retry_after(httplib::Response& res, std::chrono::seconds retry_after);

// The creation check of a route whose service alone knows whether the request
// opens a conversation (seed 002 POST /api/messages/; the service calls it
// through SupportPost::admit_new_conversation just before it creates, so a
// refused request stores nothing): charges the create class for the client
// address, then for `who`. A refusal is kResourceExhausted with the same
// message as render_rate_limited, and its Retry-After is left in
// scope.retry_after for the endpoint adapter to send. OK when rate
// limits are off (no limiter in the scope).
chat::Status admit_creation(const RequestScope& scope, const chat::Principal& who);

// The endpoint adapter's check: charges `who` for the classes the dispatcher
// put in `scope` (nothing when it put none).
inline std::optional<RateRefusal> charge_principal(const RequestScope& scope, const chat::Principal& who) {
  if (scope.rate_limiter == nullptr) return std::nullopt;
  return scope.rate_limiter->charge_principal(scope.rate_classes, who);
}

}  // namespace chatd
