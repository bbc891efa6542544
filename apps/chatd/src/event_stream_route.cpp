#include "event_stream_route.hpp"

#include <charconv>
#include <memory>
#include <utility>

#include "endpoint.hpp"
#include "event_pump.hpp"
#include "http_json.hpp"
#include "rate_limiter.hpp"
#include "routes/shapes.hpp"
#include "stream_tickets.hpp"

namespace chatd {

namespace {

using nlohmann::json;

std::string json_text(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

bool is_message_event(chat::EventType t) {
  return t == chat::EventType::kMessageCreated || t == chat::EventType::kMessageUpdated ||
         t == chat::EventType::kMessageDeleted || t == chat::EventType::kMessageRestored;
}

chat::Result<std::int64_t> event_id_text(std::string_view text) {
  std::int64_t v = -1;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v < 0) {
    return chat::Error::invalid("last_event_id", "last_event_id: must be an event id (an integer >= 0)");
  }
  return v;
}

// The caller: a ticket for this path when the query has one (EventSource
// cannot send Authorization), else the API's own rule. A ticket and an
// Authorization header together are refused, so that neither silently wins:
// 401 when the header is bad (as everywhere in chatd), else 400 `ticket`.
// HEAD checks the ticket without using it (`redeem` false).
chat::Result<chat::Principal> stream_caller(const RouteContext& ctx, const EventRoutesSpec& spec,
                                            const httplib::Request& req, bool redeem) {
  if (spec.access != Access::kPublic && req.has_param("ticket")) {
    if (req.has_header("Authorization")) {
      auto bearer = ctx.authenticate(req, Access::kOptional);
      if (!bearer) return std::move(bearer).error();
      return chat::Error::invalid("ticket", "send either ?ticket= or an Authorization header, not both");
    }
    if (ctx.stream_tickets == nullptr) return chat::Error::unavailable("stream tickets are not available");
    const std::string ticket = req.get_param_value("ticket");
    return redeem ? ctx.stream_tickets->redeem(ticket, req.path) : ctx.stream_tickets->check(ticket, req.path);
  }
  return ctx.authenticate(req, spec.access);
}

// GET P: opens the stream and leaves it for the connection loop to hand off.
void open_stream(const RouteContext& ctx, const EventRoutesSpec& spec, const httplib::Request& req,
                 httplib::Response& res, const PathParams& params, const RequestScope& scope) {
  if (ctx.event_pump == nullptr || ctx.event_streams == nullptr || ctx.stopping.load()) {
    return render_error(res, chat::Error::unavailable("event streams are not available; retry later"));
  }
  // HEAD answers the head GET would, without using a ticket, a slot or a stream.
  const bool head = req.method == "HEAD";
  auto who = stream_caller(ctx, spec, req, /*redeem=*/!head);
  if (!who) return render_error(res, who.error());
  auto after = parse_last_event_id(req);
  if (!after) return render_error(res, *spec.errors, std::move(after).error());
  auto key = spec.key(req, params);
  if (!key) return render_error(res, *spec.errors, std::move(key).error());
  if (head) {
    auto probe = ctx.service.open_event_stream(*who, *key, *after, chat::EventListener{});
    if (!probe) return render_call_error(res, scope, *spec.errors, std::move(probe).error());
    probe->reset();
    res.status = 200;
    scope.event_stream = std::make_shared<EventStreamHandoff>();  // no stream: the head alone
    return;
  }
  auto slot = ctx.event_streams->try_acquire(scope.client_address);
  if (!slot) {
    return render_error(res, chat::Error::resource_exhausted(
                                 "too many open event streams (--max-event-streams, "
                                 "--max-event-streams-per-address); retry shortly"));
  }
  auto handoff = std::make_shared<EventStreamHandoff>();
  handoff->id = ctx.event_pump->next_id();
  auto stream = ctx.service.open_event_stream(*who, *key, *after, ctx.event_pump->listener(handoff->id));
  if (!stream) return render_call_error(res, scope, *spec.errors, std::move(stream).error());
  handoff->slot.emplace(std::move(*slot));
  handoff->render = make_event_renderer(spec.shapes, (*stream)->conversation());
  handoff->stream = std::move(*stream);
  res.status = 200;
  scope.event_stream = std::move(handoff);
}

// POST P/typing {"active"?: bool}
void typing(const RouteContext& ctx, const EventRoutesSpec& spec, const httplib::Request& req, httplib::Response& res,
            const PathParams& params, const RequestScope& scope) {
  auto who = ctx.authenticate(req, spec.access);
  if (!who) return render_error(res, who.error());
  if (auto limited = charge_principal(scope, *who)) return render_rate_limited(res, *limited);
  auto body = parse_json_object(req, EmptyBody::kAsEmptyObject);
  if (!body) return render_error(res, *spec.errors, std::move(body).error());
  auto active = optional_bool(*body, "active");
  if (!active) return render_error(res, *spec.errors, std::move(active).error());
  auto key = spec.key(req, params);
  if (!key) return render_error(res, *spec.errors, std::move(key).error());
  auto sent = ctx.service.send_typing(*who, *key, active->value_or(true));
  if (!sent.ok()) return render_call_error(res, scope, *spec.errors, sent.error());
  send(res, Reply::no_content());
}

// The events path a P/ticket request names: its path without "/ticket".
std::string events_path_of(std::string_view ticket_path) {
  while (ticket_path.size() > 1 && ticket_path.back() == '/') ticket_path.remove_suffix(1);
  constexpr std::string_view kSuffix = "/ticket";
  if (ticket_path.size() >= kSuffix.size() && ticket_path.substr(ticket_path.size() - kSuffix.size()) == kSuffix) {
    ticket_path.remove_suffix(kSuffix.size());
  }
  return std::string(ticket_path);
}

// POST P/ticket (bearer token): checks the stream could open now, then issues.
void ticket(const RouteContext& ctx, const EventRoutesSpec& spec, const httplib::Request& req, httplib::Response& res,
            const PathParams& params, const RequestScope& scope) {
  if (ctx.stream_tickets == nullptr) return render_error(res, chat::Error::unavailable("stream tickets are not available"));
  // A ticket stands for a bearer token: only a signed-in caller gets one.
  auto who = ctx.authenticate(req, Access::kUser);
  if (!who) return render_error(res, who.error());
  if (auto limited = charge_principal(scope, *who)) return render_rate_limited(res, *limited);
  auto key = spec.key(req, params);
  if (!key) return render_error(res, *spec.errors, std::move(key).error());
  // The stream's own visibility rule, through the one operation that states it.
  auto probe = ctx.service.open_event_stream(*who, *key, std::nullopt, chat::EventListener{});
  if (!probe) return render_call_error(res, scope, *spec.errors, std::move(probe).error());
  probe->reset();
  auto issued = ctx.stream_tickets->issue(*who, events_path_of(req.path));
  if (!issued) return render_error(res, issued.error());
  send(res, Reply::ok({{"ticket", *issued}, {"expires_in", ctx.stream_tickets->ttl().count()}}));
}

}  // namespace

chat::Result<std::optional<std::int64_t>> parse_last_event_id(const httplib::Request& req) {
  if (req.has_header("Last-Event-ID")) {
    CHAT_ASSIGN_OR_RETURN(auto id, event_id_text(req.get_header_value("Last-Event-ID")));
    return std::optional<std::int64_t>(id);
  }
  if (req.has_param("last_event_id")) {
    CHAT_ASSIGN_OR_RETURN(auto id, event_id_text(req.get_param_value("last_event_id")));
    return std::optional<std::int64_t>(id);
  }
  return std::optional<std::int64_t>();
}

EventRenderer make_event_renderer(const EventShapes& shapes, chat::Conversation opened) {
  auto latest = std::make_shared<chat::Conversation>(std::move(opened));
  return [shapes, latest](const chat::Event& ev) -> std::optional<std::string> {
    if (ev.type == chat::EventType::kTyping) {
      if (!ev.typing) return std::nullopt;
      // The capability APIs' readers may be anyone holding the link: no account ids.
      return json_text({{"user_id", shapes.typing_user_id ? string_or_null(ev.typing->user_id) : json(nullptr)},
                        {"role", ev.typing->role == chat::Role::kUser ? "user" : "agent"},
                        {"active", ev.typing->active}});
    }
    if (ev.conversation) {
      *latest = *ev.conversation;  // the pump calls one stream's renderer on its one thread
      if (!shapes.conversation) return std::nullopt;
      return json_text(shapes.conversation(*ev.conversation));
    }
    if (is_message_event(ev.type) && ev.message && shapes.message) {
      return json_text(shapes.message(*ev.message, *latest));
    }
    return std::nullopt;
  };
}

void register_event_routes(Router& router, const RouteContext& ctx, EventRoutesSpec spec) {
  auto kept = std::make_shared<const EventRoutesSpec>(std::move(spec));
  const auto& s = *kept;
  router.get(s.path, Route{[&ctx, kept](const httplib::Request& req, httplib::Response& res, const PathParams& params,
                                        const RequestScope& scope) { open_stream(ctx, *kept, req, res, params, scope); },
                           s.access});
  router.post(s.path + "/typing",
              Route{[&ctx, kept](const httplib::Request& req, httplib::Response& res, const PathParams& params,
                                 const RequestScope& scope) { typing(ctx, *kept, req, res, params, scope); },
                    s.access});
  if (s.tickets) {
    router.post(s.path + "/ticket",
                Route{[&ctx, kept](const httplib::Request& req, httplib::Response& res, const PathParams& params,
                                   const RequestScope& scope) { ticket(ctx, *kept, req, res, params, scope); },
                      Access::kUser});
  }
}

}  // namespace chatd
