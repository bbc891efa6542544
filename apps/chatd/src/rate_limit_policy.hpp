// rate_limit_policy.hpp: what chatd rate-limits, by which key, how much by
// default, and which route belongs to which class (issue 9).
//
// Classes (a request may count in several):
// - write: any state-changing request (POST, PUT, PATCH, DELETE);
// - create: a request that opens a session or conversation (seed 001
//   sessions, seed 003 conversations, seed 004 coach sessions). Charged by
//   the dispatcher and the adapter for those routes, which always create.
//   A seed 002 post creates only when its `conversation` names none the
//   caller sees (not a uuid, unknown, another user's), which the service
//   alone knows: that route is a write here, and the service charges the
//   creation through SupportPost::admit_new_conversation, just before it
//   opens the conversation (admit_creation in rate_limiter.hpp). A seed 000
//   quote chat is opened by the first post about a job and exists once per
//   job: its creations are bounded by job registrations (writes), so its
//   posts are writes;
// - model: a request that starts an AI reply, streaming or not (paid calls).
// Keys: the client address (RequestScope::client_address), for every caller;
// and the authenticated principal (its user id), for callers with a token.
// Anonymous callers are limited by address only.
//
// Defaults (RateLimitConfig below; the numbers and why are in
// apps/chatd/README.md "Rate limits"): a person types a message every few
// seconds, and an office behind one NAT address has dozens of people, so the
// per-address limits are those of ~50 busy people and the per-user limits
// those of one very fast person or a support agent's console.
//
// The route table route_rate_classes() is the ONE place that names which
// route is in which class; tests/chatd/rate_limit_test.cpp checks it against
// the router (every state-changing route is listed; every entry exists).
//
// Pure data and pure functions: no state, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace chatd {

enum class RateClass : std::uint8_t { kWrite = 0, kCreate = 1, kModel = 2 };
inline constexpr std::size_t kRateClassCount = 3;
enum class RateKey : std::uint8_t { kAddress = 0, kPrincipal = 1 };
inline constexpr std::size_t kRateKeyCount = 2;

std::string_view to_string(RateClass c) noexcept;  // "write", "create", "model"
std::string_view to_string(RateKey k) noexcept;    // "address", "principal"

// A set of classes, as bits (1 << RateClass).
using RateClasses = std::uint8_t;
constexpr RateClasses rate_bit(RateClass c) noexcept { return static_cast<RateClasses>(1u << static_cast<int>(c)); }
inline constexpr RateClasses kWriteOnly = rate_bit(RateClass::kWrite);
inline constexpr RateClasses kWriteCreate = kWriteOnly | rate_bit(RateClass::kCreate);
inline constexpr RateClasses kWriteModel = kWriteOnly | rate_bit(RateClass::kModel);
inline constexpr RateClasses kWriteCreateModel = kWriteCreate | rate_bit(RateClass::kModel);

// A token bucket's shape: refill `per_second`, hold at most `burst`.
// per_second == 0 turns the limit off.
struct RateLimit {
  double per_second = 0;
  double burst = 0;
  bool enabled() const noexcept { return per_second > 0; }
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

// Parses "RATE/UNIT:BURST" (UNIT s, m or h; e.g. "20/s:400", "30/m:20") or
// "0" (off). kInvalidArgument names the flag `where`.
chat::Result<RateLimit> parse_rate_limit(std::string_view where, std::string_view text);
// "20/s:400", "0.5/s:20", "0".
std::string format_rate_limit(const RateLimit& limit);

struct RateLimitConfig {
  bool enabled = true;  // false: no rate limit at all (--no-rate-limits, benchmarks)
  // limits[key][class]
  RateLimit limits[kRateKeyCount][kRateClassCount] = {
      // per address: ~50 people behind one NAT
      {{20, 400}, {1, 60}, {3, 60}},
      // per user: one fast person, or an agent's console
      {{5, 100}, {0.5, 30}, {0.5, 20}},
  };
  std::size_t max_keys = 20000;  // buckets per (key kind, class) table

  RateLimit& at(RateKey k, RateClass c) noexcept {
    return limits[static_cast<int>(k)][static_cast<int>(c)];
  }
  const RateLimit& at(RateKey k, RateClass c) const noexcept {
    return limits[static_cast<int>(k)][static_cast<int>(c)];
  }
};

// A route's classes.
struct RouteRateClass {
  std::string_view method;
  std::string_view pattern;  // exactly as registered
  RateClasses classes;
};

// Every state-changing route chatd registers, with its classes.
std::span<const RouteRateClass> route_rate_classes() noexcept;

// The classes of a request to `pattern` (the matched route pattern) by
// `method`: 0 for GET/HEAD/OPTIONS; a state-changing route not in the table
// counts as a write. A function of the route alone, never of the body.
RateClasses rate_classes_for(std::string_view method, std::string_view pattern) noexcept;

// True for methods that change state (POST, PUT, PATCH, DELETE).
bool is_state_changing(std::string_view method) noexcept;

}  // namespace chatd
