// event_stream_route.hpp: the routes of one API's event streams (issue 14),
// built from that API's auth, conversation key and JSON shapes.
//
// For an events path P (each API's, routes/*.cpp):
//   GET  P[?last_event_id=N][&ticket=T]   text/event-stream (event_pump.hpp frames)
//   POST P/typing  {"active"?: bool}      -> 204; tells the stream's listeners (not stored)
//   POST P/ticket                         -> 200 {"ticket": "...", "expires_in": 60}
//                                            (a bearer token required, on every API:
//                                            stream_tickets.hpp)
//
// GET, in the order a client meets the answers:
//   - auth: a `ticket` query parameter, when present, is redeemed for P
//     (401 when invalid, expired, used, for another path, or issued before
//     this process started) and stands for the bearer; a ticket with an
//     Authorization header is refused (401 for a bad header, else 400
//     `ticket`); otherwise the API's own Access (401/403 as its other routes);
//   - Last-Event-ID header, else ?last_event_id: a decimal integer >= 0
//     (400 `last_event_id` otherwise); the header wins. Absent: live only;
//   - the API's key parse (its 404/400);
//   - an event stream slot: --max-event-streams in all, at most
//     --max-event-streams-per-address per client address: 429 with
//     Retry-After and the JSON error when none is free;
//   - ChatService::open_event_stream: its errors as the API renders them
//     (404 for another user's conversation, 410 ...);
//   - 200: the head goes out and the socket to the pump
//     (RequestScope::event_stream); from there on the pump writes.
// `data` of each event is the API's own JSON for the object the event carries
// (EventShapes: the same functions its other routes render with); typing is
// {"user_id": ..., "role": "user"|"agent", "active": bool} on every API
// (user_id null on seeds 001 and 002: EventShapes::typing_user_id).
//
// HEAD P: the same checks as GET without their effects (a ticket is checked,
// not used; no slot, no stream), then the head GET would send (200
// text/event-stream, chunked, Connection: close) and no body.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "access.hpp"
#include "chat/events.hpp"
#include "chat/result.hpp"
#include "error_style.hpp"
#include "event_stream_handoff.hpp"
#include "route_context.hpp"
#include "router.hpp"

namespace chatd {

// An API's JSON for what events carry.
struct EventShapes {
  // A message of conversation `c` (the stream's, as of its latest conversation event).
  std::function<nlohmann::json(const chat::Message& m, const chat::Conversation& c)> message;
  std::function<nlohmann::json(const chat::Conversation& c)> conversation;
  // false: typing carries "user_id": null (seeds 001 and 002, whose streams
  // open by capability: an anonymous reader is not told account ids).
  bool typing_user_id = true;
};

// One API's event stream routes.
struct EventRoutesSpec {
  std::string path;  // the events path pattern, e.g. "/chat/conversations/{id}/events"
  Access access;     // the API's auth (kPublic, kOptional, kUser)
  const ErrorStyle* errors;
  std::function<chat::Result<chat::ConversationKey>(const httplib::Request&, const PathParams&)> key;
  EventShapes shapes;
  bool tickets = true;  // register P/ticket
};

// Registers GET P, POST P/typing and (with tickets) POST P/ticket.
// `spec` is kept by the routes.
void register_event_routes(Router& router, const RouteContext& ctx, EventRoutesSpec spec);

// Last-Event-ID (header, else ?last_event_id): nullopt when absent;
// kInvalidArgument "last_event_id" when not a decimal integer >= 0.
chat::Result<std::optional<std::int64_t>> parse_last_event_id(const httplib::Request& req);

// The renderer of one stream: data JSON for each event by `shapes`, typing
// as above, nullopt for an event with nothing to show. `opened`: the stream's
// conversation when it opened (messages render with the newest one seen).
EventRenderer make_event_renderer(const EventShapes& shapes, chat::Conversation opened);

}  // namespace chatd
