// route_context.hpp: what every route handler gets, and authentication.
//
// A route file has one entry point,
//
//   void register_seedNNN_routes(Router& router, const RouteContext& ctx);
//
// declared in routes/routes.hpp, called from register_all_routes() and listed
// in apps/chatd/CMakeLists.txt (sources are listed there, not globbed). Its
// handlers are built by endpoint() (endpoint.hpp), which captures `&ctx` (the
// context lives as long as the Server) and runs: authenticate (by the route's
// Access), parse, call ONE ChatService operation, render.
//
// Auth rules (DESIGN §4), by Access:
// - kPublic: nothing is checked; the principal is anonymous.
// - kOptional: no Authorization header -> the anonymous principal; a header
//   that is not a valid bearer token -> 401 (a bad token is never silently
//   treated as anonymous, as in DRF).
// - kUser / kAgent / kAdmin: no or bad token -> 401 (with WWW-Authenticate:
//   Bearer); a valid token whose role is below the one named -> 403.
// authenticate() returns those as errors (kUnauthenticated, kPermissionDenied)
// for the adapter to render; authenticate_optional / authenticate_required
// render them themselves, for handlers written by hand (tests).
#pragma once

#include <atomic>
#include <optional>

#include "access.hpp"
#include "auth.hpp"
#include "chat/logger.hpp"
#include "chat/service.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"
#include "config.hpp"
#include "stream_slots.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chatd {

class EventPump;
class StreamTickets;

struct RouteContext {
  chat::ChatService& service;
  const JwtTokens& tokens;
  const Config& config;
  const chat::Clock& clock;
  chat::Logger& logger;
  // Set when the server begins a graceful stop: streams and long-polls end
  // themselves when they see it, or stop() waits for them.
  const std::atomic<bool>& stopping;
  // Every SSE stream and long-poll takes a slot first (stream_slots.hpp).
  StreamSlots& streams;
  // Each client address's share of concurrent model calls (issue 9;
  // Config::llm_max_concurrent_per_address): every model-class route takes a
  // slot here for its whole call (a stream: its lifetime) in the endpoint
  // adapter. Its capacity is unbounded: the global bound is libchat's
  // (chat::ModelCallBounds). Null: no share.
  StreamSlots* model_calls = nullptr;
  // Event streams (issue 14, event_stream_route.hpp): the pump that holds
  // them, their own bound and per-address share (--max-event-streams,
  // --max-event-streams-per-address), the browser tickets. Null: the event
  // stream routes answer 503 (servers built without them, tests).
  EventPump* event_pump = nullptr;
  StreamSlots* event_streams = nullptr;
  StreamTickets* stream_tickets = nullptr;

  // The caller, or kUnauthenticated / kPermissionDenied by the rules above.
  chat::Result<chat::Principal> authenticate(const httplib::Request& req, Access access) const;

  // The caller, or nullopt after rendering 401 into `res`.
  std::optional<chat::Principal> authenticate_optional(const httplib::Request& req, httplib::Response& res) const;
  // The caller (with a role of at least `min`), or nullopt after rendering 401 / 403.
  std::optional<chat::Principal> authenticate_required(const httplib::Request& req, httplib::Response& res,
                                                       chat::PrincipalRole min = chat::PrincipalRole::kUser) const;
};

// OK when `who` has at least role `min`; else kUnauthenticated (anonymous) or kPermissionDenied.
chat::Status check_role(const chat::Principal& who, chat::PrincipalRole min);
// True when `who` has at least role `min`; else renders check_role's error and returns false.
bool require_role(const chat::Principal& who, chat::PrincipalRole min, httplib::Response& res);

}  // namespace chatd
