#include "stream_tickets.hpp"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace chatd {

namespace {

using nlohmann::json;

constexpr std::string_view kKeyLabel = "chatd event stream ticket v1";
constexpr std::string_view kType = "event-stream-ticket";

std::string derive_key(std::string_view secret) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(kKeyLabel.data()), kKeyLabel.size(), out, &len) == nullptr) {
    throw std::runtime_error("stream tickets: HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string_view without_trailing_slash(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

chat::Error refused(std::string message) {
  return chat::Error{chat::ErrorCode::kUnauthenticated, std::move(message), {}};
}

struct JwtDeleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }  // NOLINT: libjwt allocates with malloc
};

}  // namespace

StreamTickets::StreamTickets(std::string_view server_secret, std::shared_ptr<const chat::Clock> clock,
                             std::chrono::seconds ttl, std::size_t max_used)
    : key_(derive_key(server_secret)),
      clock_(std::move(clock)),
      ttl_(ttl),
      max_used_(max_used),
      verifier_(key_, clock_),
      started_(static_cast<long>(chat::to_millis(clock_->now()) / 1000)) {}

chat::Result<std::string> StreamTickets::issue(const chat::Principal& who, std::string_view path) const {
  if (who.is_anonymous() || who.user_id.empty()) return chat::Error::invalid("sub", "a ticket needs a signed-in caller");
  unsigned char random[16];
  if (RAND_bytes(random, sizeof random) != 1) return chat::Error::internal("no random bytes for a ticket");
  const std::string jti = base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  const long now = static_cast<long>(chat::to_millis(clock_->now()) / 1000);
  const std::string role(chat::to_string(who.role));
  const std::string bound(without_trailing_slash(path));
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return chat::Error::internal("jwt_new failed");
  std::unique_ptr<jwt_t, JwtDeleter> j(raw);
  if (jwt_add_grant(j.get(), "sub", who.user_id.c_str()) != 0 || jwt_add_grant(j.get(), "role", role.c_str()) != 0 ||
      jwt_add_grant(j.get(), "typ", std::string(kType).c_str()) != 0 ||
      jwt_add_grant(j.get(), "path", bound.c_str()) != 0 || jwt_add_grant(j.get(), "jti", jti.c_str()) != 0 ||
      jwt_add_grant_int(j.get(), "iat", now) != 0 ||
      jwt_add_grant_int(j.get(), "exp", now + static_cast<long>(ttl_.count())) != 0) {
    return chat::Error::internal("cannot add ticket claims");
  }
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                  static_cast<int>(key_.size())) != 0) {
    return chat::Error::internal("cannot set the ticket algorithm");
  }
  std::unique_ptr<char, FreeDeleter> encoded(jwt_encode_str(j.get()));
  if (!encoded) return chat::Error::internal("cannot encode the ticket");
  return std::string(encoded.get());
}

chat::Result<chat::Principal> StreamTickets::redeem(std::string_view ticket, std::string_view path) {
  return verify(ticket, path, /*use=*/true);
}

chat::Result<chat::Principal> StreamTickets::check(std::string_view ticket, std::string_view path) {
  return verify(ticket, path, /*use=*/false);
}

chat::Result<chat::Principal> StreamTickets::verify(std::string_view ticket, std::string_view path, bool use) {
  // Signature (derived key), alg, exp, sub and role, as for a bearer token.
  auto who = verifier_.verify(ticket);
  if (!who) return refused("invalid stream ticket: " + who.error().message);
  const auto dot1 = ticket.find('.');
  const auto dot2 = ticket.find('.', dot1 + 1);
  auto payload = base64url_decode(ticket.substr(dot1 + 1, dot2 - dot1 - 1));
  json claims = payload ? json::parse(*payload, nullptr, false) : json();
  if (!claims.is_object()) return refused("invalid stream ticket");
  auto text = [&claims](const char* name) -> std::string {
    auto it = claims.find(name);
    return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (text("typ") != kType) return refused("invalid stream ticket: not a ticket");
  if (text("path") != without_trailing_slash(path)) return refused("invalid stream ticket: issued for another stream");
  const std::string jti = text("jti");
  if (jti.empty()) return refused("invalid stream ticket: no jti");
  // The used set is this process's: a ticket from before it started may have been used.
  auto iat = claims.find("iat");
  if (iat == claims.end() || !iat->is_number() || iat->get<double>() < static_cast<double>(started_)) {
    return refused("invalid stream ticket: issued before this server started; ask for a new one");
  }
  const double exp = claims.value("exp", 0.0);
  const double now = static_cast<double>(chat::to_millis(clock_->now())) / 1000.0;
  std::lock_guard lock(mu_);
  while (!expiry_.empty() && expiry_.front().first <= now) {
    used_.erase(expiry_.front().second);
    expiry_.pop_front();
  }
  if (used_.count(jti) != 0) return refused("invalid stream ticket: already used");
  if (!use) return who;
  if (used_.size() >= max_used_) {
    return chat::Error::unavailable("too many stream tickets in use; retry in a minute");
  }
  used_.insert(jti);
  expiry_.emplace_back(exp, jti);
  return who;
}

}  // namespace chatd
