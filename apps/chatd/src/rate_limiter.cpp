#include "rate_limiter.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "http_errors.hpp"

namespace chatd {

namespace {

// The table's entry for (method, pattern), or nullptr. The table is small
// (tens of entries) and only state-changing requests look here.
const RouteRateClass* find_route(std::string_view method, std::string_view pattern) {
  for (const auto& r : route_rate_classes()) {
    if (r.method == method && r.pattern == pattern) return &r;
  }
  return nullptr;
}

// True when the JSON body has no usable member `name` (absent, null, "").
bool body_lacks(const std::string& body, std::string_view name) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return true;
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) return true;
  return it->is_string() && it->get_ref<const std::string&>().empty();
}

}  // namespace

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

RateClasses RateLimiter::classes_for(const httplib::Request& req, std::string_view pattern) const {
  if (!is_state_changing(req.method)) return 0;
  const RouteRateClass* r = find_route(req.method, pattern);
  if (r == nullptr) return kWriteOnly;
  RateClasses c = r->classes;
  if (!r->creates_when_body_lacks.empty() && body_lacks(req.body, r->creates_when_body_lacks)) {
    c |= rate_bit(RateClass::kCreate);
  }
  return c;
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

void render_rate_limited(httplib::Response& res, const RateRefusal& refusal) {
  std::string message = "rate limit: too many ";
  switch (refusal.rate_class) {
    case RateClass::kWrite: message += "writes"; break;
    case RateClass::kCreate: message += "new sessions or conversations"; break;
    case RateClass::kModel: message += "AI replies"; break;
  }
  message += refusal.key == RateKey::kAddress ? " from this address" : " for this user";
  message += "; retry in " + std::to_string(refusal.retry_after.count()) + " s";
  render_error(res, chat::Error::resource_exhausted(std::move(message)));
  res.headers.erase("Retry-After");
  res.set_header("Retry-After", std::to_string(refusal.retry_after.count()));
}

}  // namespace chatd
