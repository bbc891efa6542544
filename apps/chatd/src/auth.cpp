#include "auth.hpp"

#include <jwt.h>

#include <array>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace chatd {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxTokenBytes = 8192;

chat::Error unauthenticated(std::string message) {
  return chat::Error{chat::ErrorCode::kUnauthenticated, std::move(message), {}};
}

struct JwtDeleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }  // NOLINT: libjwt allocates with malloc
};
using CStr = std::unique_ptr<char, FreeDeleter>;

constexpr std::array<signed char, 256> make_decode_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();

std::optional<json> decode_json_object(std::string_view segment) {
  auto bytes = base64url_decode(segment);
  if (!bytes) return std::nullopt;
  json j = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = kDecode[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

JwtTokens::JwtTokens(std::string secret, std::shared_ptr<const chat::Clock> clock)
    : secret_(std::move(secret)), clock_(std::move(clock)) {}

chat::Result<std::string> JwtTokens::issue(const chat::Principal& who, std::chrono::seconds ttl) const {
  if (who.role == chat::PrincipalRole::kAnonymous) return chat::Error::invalid("role", "cannot issue a token for an anonymous caller");
  if (who.user_id.empty()) return chat::Error::invalid("sub", "sub must not be empty");
  if (secret_.empty()) return chat::Error::internal("no JWT secret");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return chat::Error::internal("jwt_new failed");
  JwtPtr j(raw);
  const long now = static_cast<long>(chat::to_millis(clock_->now()) / 1000);
  const std::string role(chat::to_string(who.role));
  if (jwt_add_grant(j.get(), "sub", who.user_id.c_str()) != 0 || jwt_add_grant(j.get(), "role", role.c_str()) != 0 ||
      jwt_add_grant_int(j.get(), "iat", now) != 0 ||
      jwt_add_grant_int(j.get(), "exp", now + static_cast<long>(ttl.count())) != 0) {
    return chat::Error::internal("cannot add JWT claims");
  }
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) != 0) {
    return chat::Error::internal("cannot set the JWT algorithm");
  }
  CStr encoded(jwt_encode_str(j.get()));
  if (!encoded) return chat::Error::internal("cannot encode the JWT");
  return std::string(encoded.get());
}

chat::Result<chat::Principal> JwtTokens::verify(std::string_view token) const {
  if (token.empty()) return unauthenticated("missing token");
  if (token.size() > kMaxTokenBytes) return unauthenticated("malformed token: too long");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos || dot1 == 0 ||
      dot2 == dot1 + 1) {
    return unauthenticated("malformed token: expected header.payload.signature");
  }
  auto header = decode_json_object(token.substr(0, dot1));
  if (!header) return unauthenticated("malformed token: bad header");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return unauthenticated("unsupported token algorithm: only HS256 is accepted");
  }
  auto claims = decode_json_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return unauthenticated("malformed token: bad payload");
  if (secret_.empty() || dot2 + 1 == token.size()) return unauthenticated("invalid token signature");

  // Signature, by libjwt, now that we know the alg is HS256.
  const std::string text(token);
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                      static_cast<int>(secret_.size()));
  JwtPtr j(raw);
  if (rc != 0 || !j || jwt_get_alg(j.get()) != JWT_ALG_HS256) return unauthenticated("invalid token signature");

  const double now_s = static_cast<double>(chat::to_millis(clock_->now())) / 1000.0;
  auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number()) return unauthenticated("token has no exp claim");
  if (!(exp->get<double>() > now_s)) return unauthenticated("token expired");
  if (auto nbf = claims->find("nbf"); nbf != claims->end()) {
    if (!nbf->is_number() || nbf->get<double>() > now_s) return unauthenticated("token not valid yet");
  }
  auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return unauthenticated("token has no sub claim");
  }
  chat::Principal who;
  who.user_id = sub->get<std::string>();
  who.role = chat::PrincipalRole::kUser;
  if (auto role = claims->find("role"); role != claims->end()) {
    std::optional<chat::PrincipalRole> r;
    if (role->is_string()) r = chat::parse_principal_role(role->get_ref<const std::string&>());
    if (!r || *r == chat::PrincipalRole::kAnonymous) return unauthenticated("token has an unknown role");
    who.role = *r;
  }
  return who;
}

std::optional<std::string_view> parse_bearer(std::string_view authorization) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_space(authorization.front())) authorization.remove_prefix(1);
  while (!authorization.empty() && is_space(authorization.back())) authorization.remove_suffix(1);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || !is_space(authorization[kScheme.size()])) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    if (is_space(c)) return std::nullopt;  // "Bearer a b" is not one token
  }
  return token;
}

bool role_at_least(chat::PrincipalRole have, chat::PrincipalRole need) noexcept {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace chatd
