#include "rate_limiter.hpp"

#include <httplib.h>

#include "http_errors.hpp"

namespace chatd {

RateLimiter::RateLimiter(const chat::Clock& clock, const RateLimitConfig& config) {
  if (!config.enabled) return;
  for (std::size_t k = 0; k < kRateKeyCount; ++k) {
    for (std::size_t c = 0; c < kRateClassCount; ++c) {
      const RateLimit& l = config.limits[k][c];
      if (!l.enabled()) continue;
      TokenBucketOptions o;
      o.per_second = l.per_second;
      o.burst = l.burst;
      o.max_keys = config.max_keys;
      tables_[k][c] = std::make_unique<TokenBucketTable>(clock, o);
    }
  }
}

std::optional<RateRefusal> RateLimiter::charge(RateKey key, RateClasses classes, std::string_view id) {
  const auto k = static_cast<std::size_t>(key);
  for (std::size_t c = 0; c < kRateClassCount; ++c) {
    if ((classes & (1u << c)) == 0 || !tables_[k][c]) continue;
    const auto d = tables_[k][c]->take(id);
    if (!d.allowed) {
      refused_[k][c].fetch_add(1, std::memory_order_relaxed);
      return RateRefusal{static_cast<RateClass>(c), key, d.retry_after};
    }
  }
  return std::nullopt;
}

std::optional<RateRefusal> RateLimiter::charge_address(RateClasses classes, std::string_view address) {
  if (classes == 0) return std::nullopt;
  return charge(RateKey::kAddress, classes, address);
}

std::optional<RateRefusal> RateLimiter::charge_principal(RateClasses classes, const chat::Principal& who) {
  if (classes == 0 || who.is_anonymous() || who.user_id.empty()) return std::nullopt;
  return charge(RateKey::kPrincipal, classes, who.user_id);
}

std::uint64_t RateLimiter::refused(RateKey key, RateClass c) const noexcept {
  return refused_[static_cast<int>(key)][static_cast<int>(c)].load(std::memory_order_relaxed);
}

std::size_t RateLimiter::tracked_keys() const {
  std::size_t n = 0;
  for (const auto& row : tables_) {
    for (const auto& t : row) {
      if (t) n += t->size();
    }
  }
  return n;
}

namespace {

std::string refusal_message(const RateRefusal& refusal) {
  std::string message = "rate limit: too many ";
  switch (refusal.rate_class) {
    case RateClass::kWrite: message += "writes"; break;
    case RateClass::kCreate: message += "new sessions or conversations"; break;
    case RateClass::kModel: message += "AI replies"; break;
  }
  message += refusal.key == RateKey::kAddress ? " from this address" : " for this user";
  message += "; retry in " + std::to_string(refusal.retry_after.count()) + " s";
  return message;
}

}  // namespace

void set_retry_after(httplib::Response& res, std::chrono::seconds retry_after) {
  res.headers.erase("Retry-After");
  res.set_header("Retry-After", std::to_string(retry_after.count()));
}

void render_rate_limited(httplib::Response& res, const RateRefusal& refusal) {
  render_error(res, chat::Error::resource_exhausted(refusal_message(refusal)));
  set_retry_after(res, refusal.retry_after);
}

chat::Status admit_creation(const RequestScope& scope, const chat::Principal& who) {
  if (scope.rate_limiter == nullptr) return {};
  constexpr RateClasses kCreate = rate_bit(RateClass::kCreate);
  auto refusal = scope.rate_limiter->charge_address(kCreate, scope.client_address);
  if (!refusal) refusal = scope.rate_limiter->charge_principal(kCreate, who);
  if (!refusal) return {};
  scope.retry_after = refusal->retry_after;
  return chat::Error::resource_exhausted(refusal_message(*refusal));
}

}  // namespace chatd
