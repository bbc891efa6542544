// route_context.hpp: what every route handler gets, and its auth helpers.
//
// A seed's route file has one entry point,
//
//   void register_seedNNN_routes(Router& router, const RouteContext& ctx);
//
// declared in routes/routes.hpp and called from register_all_routes(). Its
// handlers capture `&ctx` (the context lives as long as the Server) and follow
// one shape: authenticate, parse, call ONE ChatService operation, render.
//
//   router.get("/chat/conversations/{id}/", [&ctx](const auto& req, auto& res, const PathParams& p) {
//     auto who = ctx.authenticate_required(req, res);   // 401 rendered when nullopt
//     if (!who) return;
//     auto id = parse_int64(p.get("id"));               // http_json.hpp
//     if (!id) return render_error(res, chat::Error::not_found("conversation not found"));
//     auto c = ctx.service.get_conversation(*who, chat::ConversationKey::of_id(*id));
//     if (!c) return render_error(res, c.error());      // the one status table
//     render_json(res, 200, to_json(*c));
//   });
//
// Auth rules (DESIGN §4):
// - authenticate_optional: no Authorization header -> the anonymous principal;
//   a header that is not a valid bearer token -> 401 (a bad token is never
//   silently treated as anonymous, as in DRF).
// - authenticate_required: no or bad token -> 401 (with WWW-Authenticate: Bearer);
//   a valid token whose role is below `min` -> 403.
// - require_role: 403 unless the principal's role is at least `min`
//   (anonymous < user < agent < admin); an anonymous principal gets 401.
#pragma once

#include <atomic>
#include <optional>

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

  // The caller, or nullopt after rendering 401 into `res`.
  std::optional<chat::Principal> authenticate_optional(const httplib::Request& req, httplib::Response& res) const;
  // The caller (with a role of at least `min`), or nullopt after rendering 401 / 403.
  std::optional<chat::Principal> authenticate_required(const httplib::Request& req, httplib::Response& res,
                                                       chat::PrincipalRole min = chat::PrincipalRole::kUser) const;
};

// True when `who` has at least role `min`; else renders 401 (anonymous) or 403 and returns false.
bool require_role(const chat::Principal& who, chat::PrincipalRole min, httplib::Response& res);

}  // namespace chatd
