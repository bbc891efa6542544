// stream_tickets.hpp: short-lived, single-stream tickets, so that a browser's
// EventSource (which cannot send an Authorization header) can open the event
// stream of a token API (seeds 000, 003, 004; issue 14).
//
// A client with a bearer token asks `POST <events path>/ticket` and opens
// `GET <events path>?ticket=...` within `ttl` (60 s). A ticket is a JWT
// (HS256) signed with a key DERIVED from the server secret
// (HMAC-SHA256(secret, "chatd event stream ticket v1")), so a ticket never
// verifies as a bearer token and a bearer token never as a ticket. Claims:
// sub, role (the bearer's), iat, exp, typ "event-stream-ticket", path (the
// exact events path it opens, trailing slash ignored) and jti (random, 128
// bits). Redeeming checks all of them and the jti once: a ticket opens one
// stream. The used jtis are kept in memory until their exp (at most
// max_used; past it redeem answers kUnavailable until some expire), so with
// several chatd instances behind one balancer a ticket may be replayed
// against another instance within its minute. The used set does not survive
// a restart, so a ticket issued (iat, whole seconds) before this object was
// made, i.e. before this process started, is refused: a restart costs a
// browser one re-mint, never a replay (but for a ticket minted in the very
// second the new process started: iat has one-second resolution).
//
// Thread-safe (one mutex around the used set). Errors: kUnauthenticated with
// the reason (malformed, bad signature, expired, wrong path, already used).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "auth.hpp"
#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"

namespace chatd {

class StreamTickets {
 public:
  StreamTickets(std::string_view server_secret, std::shared_ptr<const chat::Clock> clock,
                std::chrono::seconds ttl = std::chrono::seconds(60), std::size_t max_used = 100'000);

  // A ticket for `who` (not anonymous) to open `path` once.
  chat::Result<std::string> issue(const chat::Principal& who, std::string_view path) const;
  // The principal of a valid, unused ticket for `path`; marks it used.
  chat::Result<chat::Principal> redeem(std::string_view ticket, std::string_view path);
  // As redeem, but leaves the ticket unused (HEAD on an events path).
  chat::Result<chat::Principal> check(std::string_view ticket, std::string_view path);

  std::chrono::seconds ttl() const noexcept { return ttl_; }

 private:
  std::string key_;
  std::shared_ptr<const chat::Clock> clock_;
  std::chrono::seconds ttl_;
  std::size_t max_used_;
  JwtTokens verifier_;  // signature, alg, exp, sub, role: with the derived key
  long started_;         // seconds since the epoch when made: older tickets are refused

  chat::Result<chat::Principal> verify(std::string_view ticket, std::string_view path, bool use);

  std::mutex mu_;
  std::unordered_set<std::string> used_;
  std::deque<std::pair<double, std::string>> expiry_;  // (exp, jti), oldest first (one ttl for all)
};

}  // namespace chatd
