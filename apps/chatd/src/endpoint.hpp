// endpoint.hpp: the one adapter between a route and the service (OSRM's
// split: a handler parses, calls one ChatService operation, renders JSON).
//
// A route is a table entry plus three small functions:
//
//   // routes/seedNNN_requests.hpp: pure, unit-tested, no rendering
//   chat::Result<GetConversationRequest> parse_get_conversation(const httplib::Request&, const PathParams&);
//   // routes/seedNNN.cpp
//   chat::Result<chat::Conversation> get_conversation(const RouteContext& ctx, const chat::Principal& who,
//                                                     GetConversationRequest& in) {
//     return ctx.service.get_conversation(who, in.key);          // ONE service operation
//   }
//   Reply render_conversation(const GetConversationRequest&, const chat::Conversation& c) {
//     return Reply::ok(conversation_json(c));
//   }
//   router.get("/chat/conversations/{id}",
//              endpoint(ctx, Access::kUser, kSeed003Errors, parse_get_conversation, get_conversation,
//                       render_conversation));
//
// endpoint() runs, for every request: authenticate by `access` (401/403,
// never restyled), the principal's rate limits (429 with Retry-After, never
// restyled; rate_limiter.hpp), for a model-class route a slot in its client
// address's share of model calls held until the handler returns
// (take_model_call_slot: 429, never restyled), parse (a parse error), the
// call (a service error), render.
// Every error goes through render_error(res, style, error) (error_style.hpp:
// the API's renames, then the one status table of http_errors.cpp); nothing
// else in a route renders an error.
//
// Shapes: parse(req, params) -> chat::Result<In> (or parse(req, params,
// limits) for a route whose bounds are the service's: ServiceLimits, so that
// no route repeats the library's page maximum); call(ctx, who, In&) ->
// chat::Result<Out> or chat::Status, or call(ctx, who, In&, const
// RequestScope&) for a route that needs the client address or the request's
// stop token (long-polls, model calls); render(const In&, Out&) -> Reply (for a
// Status call: render(const In&) -> Reply).
//
// stream_endpoint() is the same for a Server-Sent Events route: after parse it
// takes a stream slot (429 when none is free or the client address holds its
// share, stream_slots.hpp), the model-call slot is held for the stream's
// lifetime, the call
// refuses with a plain JSON error before anything is streamed, and `stream`
// (ctx, Job&, httplib::DataSink&) -> bool writes the events inside httplib's
// chunked content provider, after the handler returned. That provider runs
// outside the router's exception net: the adapter catches everything there.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "error_style.hpp"
#include "http_errors.hpp"
#include "rate_limiter.hpp"
#include "route_context.hpp"
#include "router.hpp"
#include "stream_slots.hpp"

namespace chatd {

// What a route answers on success: a status and a JSON body, or no body (204).
// `text`, when set, is the body already rendered (dump_json's bytes, for a
// renderer that builds a large answer's text itself; `body` is then unused).
struct Reply {
  int status = 200;
  std::optional<nlohmann::json> body;
  std::optional<std::string> text;

  static Reply ok(nlohmann::json body) { return Reply{200, std::move(body), std::nullopt}; }
  static Reply created(nlohmann::json body) { return Reply{201, std::move(body), std::nullopt}; }
  static Reply no_content() { return Reply{204, std::nullopt, std::nullopt}; }
  static Reply ok_text(std::string text) { return Reply{200, std::nullopt, std::move(text)}; }
};

// Runs a route's parser, handing it the service's limits when it takes them.
template <class Parse>
auto run_parse(const RouteContext& ctx, const Parse& parse, const httplib::Request& req, const PathParams& params) {
  if constexpr (std::is_invocable_v<const Parse&, const httplib::Request&, const PathParams&,
                                    const chat::ServiceLimits&>) {
    return parse(req, params, ctx.service.limits());
  } else {
    return parse(req, params);
  }
}

// Runs a route's service call, handing it the request's scope (client
// address, stop token) when it takes one: call(ctx, who, in, scope).
template <class Call, class In>
auto run_call(const RouteContext& ctx, const Call& call, const chat::Principal& who, In& in,
              const RequestScope& scope) {
  if constexpr (std::is_invocable_v<const Call&, const RouteContext&, const chat::Principal&, In&,
                                    const RequestScope&>) {
    return call(ctx, who, in, scope);
  } else {
    return call(ctx, who, in);
  }
}

// A model-class route's slot in its client address's share of concurrent
// model calls (RouteContext::model_calls), taken after authentication and
// held until the call (or the stream) ends. Returns false after rendering 429
// (Retry-After, the JSON error body, never restyled: like a rate limit) when
// the address holds its share; true otherwise, with `slot` set when one was
// taken (no share, or not a model-class route: nothing taken).
inline bool take_model_call_slot(const RouteContext& ctx, const RequestScope& scope, httplib::Response& res,
                                 std::optional<StreamSlots::Slot>& slot) {
  if (ctx.model_calls == nullptr || (scope.rate_classes & rate_bit(RateClass::kModel)) == 0) return true;
  auto taken = ctx.model_calls->try_acquire(scope.client_address);
  if (!taken) {
    render_error(res, chat::Error::resource_exhausted("too many AI replies in progress from this address; retry "
                                                      "when one has finished"));
    return false;
  }
  slot.emplace(std::move(*taken));
  return true;
}

// A call's error; a refusal inside the call (admit_creation) sets its own Retry-After.
inline void render_call_error(httplib::Response& res, const RequestScope& scope, const ErrorStyle& errors,
                              chat::Error error) {
  render_error(res, errors, std::move(error));
  if (res.status == 429 && scope.retry_after.count() > 0) set_retry_after(res, scope.retry_after);
}

// Writes a Reply into the response (render_json of http_json.hpp).
void send(httplib::Response& res, const Reply& reply);

// The style of APIs that answer the library's words as they are.
const ErrorStyle& plain_errors();

// A Route: the handler with its Access, which the router keeps (access.hpp).
template <class Parse, class Call, class Render>
Route endpoint(const RouteContext& ctx, Access access, const ErrorStyle& errors, Parse parse, Call call,
               Render render) {
  return Route{[&ctx, access, &errors, parse, call, render](const httplib::Request& req, httplib::Response& res,
                                                      const PathParams& params, const RequestScope& scope) {
    auto who = ctx.authenticate(req, access);
    if (!who) return render_error(res, who.error());
    if (auto limited = charge_principal(scope, *who)) return render_rate_limited(res, *limited);
    std::optional<StreamSlots::Slot> model_slot;
    if (!take_model_call_slot(ctx, scope, res, model_slot)) return;
    auto in = run_parse(ctx, parse, req, params);
    if (!in) return render_error(res, errors, std::move(in).error());
    auto out = run_call(ctx, call, *who, *in, scope);
    if (!out) return render_call_error(res, scope, errors, std::move(out).error());
    if constexpr (std::is_same_v<decltype(out), chat::Status>) {
      send(res, render(*in));
    } else {
      send(res, render(*in, *out));
    }
  }, access};
}

// A route with nothing to parse and nothing to call: the same JSON every time
// (liveness answers), serialized once; public (Access::kPublic).
Route fixed_json(int status, const nlohmann::json& body);

template <class Parse, class Open, class Stream>
Route stream_endpoint(const RouteContext& ctx, Access access, const ErrorStyle& errors, std::string busy_message,
                      Parse parse, Open open, Stream stream) {
  return Route{[&ctx, access, &errors, busy_message, parse, open, stream](
             const httplib::Request& req, httplib::Response& res, const PathParams& params,
             const RequestScope& scope) {
    auto who = ctx.authenticate(req, access);
    if (!who) return render_error(res, who.error());
    if (auto limited = charge_principal(scope, *who)) return render_rate_limited(res, *limited);
    std::optional<StreamSlots::Slot> model_slot;
    if (!take_model_call_slot(ctx, scope, res, model_slot)) return;
    auto in = run_parse(ctx, parse, req, params);
    if (!in) return render_error(res, errors, std::move(in).error());
    auto slot = ctx.streams.try_acquire(scope.client_address);
    if (!slot) return render_error(res, errors, chat::Error::resource_exhausted(busy_message));
    auto job = run_call(ctx, open, *who, *in, scope);
    if (!job) return render_call_error(res, scope, errors, std::move(job).error());

    using Job = std::decay_t<decltype(*job)>;
    struct Held {
      StreamSlots::Slot slot;
      std::optional<StreamSlots::Slot> model_slot;  // for the stream's lifetime
      Job job;
    };
    auto held = std::make_shared<Held>(Held{std::move(*slot), std::move(model_slot), std::move(*job)});
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream",
                                     [&ctx, held, stream](std::size_t, httplib::DataSink& sink) {
                                       try {
                                         return stream(ctx, held->job, sink);
                                       } catch (...) {
                                         return false;
                                       }
                                     });
  }, access};
}

}  // namespace chatd
