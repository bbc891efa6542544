// auth.hpp: bearer tokens (JWT, HS256 only) for chatd.
//
// Issued tokens carry the claims sub (user id, string), role ("user", "agent"
// or "admin"), iat and exp (seconds since the epoch), signed HS256.
//
// Verification is strict; everything below answers kUnauthenticated:
// - the token is not three base64url segments, or its header is not a JSON object;
// - the header's alg is anything but "HS256" ("none", "HS512", "RS256", ...),
//   checked here before libjwt sees the token, so no library default decides;
// - the signature does not verify with the secret;
// - exp is missing, not a number, or not in the future (by the injected Clock;
//   no leeway); nbf, when present, is in the future;
// - sub is missing, not a string, or empty;
// - role is present but not a string naming user, agent or admin (a missing
//   role means user).
// The error message says which rule failed, in words safe to show a client.
//
// JwtTokens is immutable after construction and thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"

namespace chatd {

class JwtTokens {
 public:
  JwtTokens(std::string secret, std::shared_ptr<const chat::Clock> clock);

  // A signed token for `who` (role kAnonymous is refused with kInvalidArgument).
  chat::Result<std::string> issue(const chat::Principal& who, std::chrono::seconds ttl) const;

  // The principal a token names, or kUnauthenticated with the reason.
  chat::Result<chat::Principal> verify(std::string_view token) const;

 private:
  std::string secret_;
  std::shared_ptr<const chat::Clock> clock_;
};

// The token of an "Authorization: Bearer <token>" header value: the scheme is
// case-insensitive, spaces around the token are ignored. nullopt when the value
// is not a bearer credential or the token is empty.
std::optional<std::string_view> parse_bearer(std::string_view authorization);

// True when `have` is at least `need` (anonymous < user < agent < admin).
bool role_at_least(chat::PrincipalRole have, chat::PrincipalRole need) noexcept;

// base64url without padding (RFC 4648 §5), exposed for tests that craft tokens.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace chatd
