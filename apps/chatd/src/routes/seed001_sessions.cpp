// Seed 001: public chat sessions, messages, chat and SSE chat under /api/chats/
// (docs/seed-001.md has the walk-through and every choice made here).
//
// Public: no token needed. A valid bearer token makes its holder the principal
// (sessions it creates are then its own); a bad one is 401, never anonymous.
//
// Vocabulary: a session is a Conversation of kind `session`; `id` is its uuid,
// `session_id` its handle; a message's `id` is its uuid, `message` its content,
// `timestamp` its created_at. Answers are bare objects and arrays. Requests
// and their parsers: routes/seed001_requests.hpp.
//
// Event stream (issue 14, event_stream_route.hpp): GET
// /api/chats/sessions/{id}/events (data: a message as GET messages/{id}/
// renders it, or the session), POST .../events/typing, POST .../events/ticket.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "endpoint.hpp"
#include "event_stream_route.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"
#include "routes/seed001_requests.hpp"
#include "routes/shapes.hpp"

namespace chatd {
namespace {

using nlohmann::json;
constexpr auto kOptional = Access::kOptional;

// ---- errors: the library names its own fields (handle, content) and threads
// ("conversation"); the seed's client knows session_id, message and sessions.

// (Not-found errors of session keys already say "session not found": chat/keys.hpp.)
const ErrorStyle kErrors{{{"handle", "session_id"}, {"content", "message"}}, nullptr};

// ---- rendering

json session_json(const chat::Conversation& c, chat::Timestamp now) {
  return {{"id", c.uuid},
          {"session_id", c.handle},
          {"external_user_id", string_or_null(c.external_user_id)},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"expires_at", time_or_null(c.expires_at)},
          {"is_active", c.is_active},
          {"is_expired", c.expired_at(now)},
          {"metadata", json_from_text(c.metadata)}};
}

json message_json(const chat::Message& m, const json& session) {
  return {{"id", m.uuid},
          {"session", session},
          {"message", m.content},
          {"role", chat::to_string(m.role)},
          {"metadata", json_from_text(m.metadata)},
          {"timestamp", chat::format_timestamp(m.created_at)}};
}

// A result with the time it was read at: a session renders whether it has expired by then.
template <class T>
struct AtNow {
  T value;
  chat::Timestamp now;
};
template <class T>
chat::Result<AtNow<T>> at_now(const RouteContext& ctx, chat::Result<T> r) {
  if (!r) return std::move(r).error();
  return AtNow<T>{std::move(*r), ctx.clock.now()};
}

// ---- sessions

chat::Result<AtNow<chat::Conversation>> create_session(const RouteContext& ctx, const chat::Principal& who,
                                                       CreateSessionRequest& in) {
  return at_now(ctx, ctx.service.create_conversation(who, std::move(in.session)));
}
Reply render_created_session(const CreateSessionRequest&, const AtNow<chat::Conversation>& c) {
  return Reply::created(session_json(c.value, c.now));
}

chat::Result<AtNow<chat::Page<chat::Conversation>>> list_sessions(const RouteContext& ctx, const chat::Principal& who,
                                                                  ListSessionsRequest& in) {
  return at_now(ctx, ctx.service.list_conversations(who, std::move(in.query)));
}
Reply render_sessions(const ListSessionsRequest&, const AtNow<chat::Page<chat::Conversation>>& page) {
  json out = json::array();
  for (const auto& c : page.value.items) out.push_back(session_json(c, page.now));
  return Reply::ok(std::move(out));
}

chat::Result<AtNow<chat::Conversation>> get_session(const RouteContext& ctx, const chat::Principal& who,
                                                    SessionRequest& in) {
  return at_now(ctx, ctx.service.get_conversation(who, in.key));
}
Reply render_session(const SessionRequest&, const AtNow<chat::Conversation>& c) {
  return Reply::ok(session_json(c.value, c.now));
}

// DRF's ModelViewSet.destroy: 204 No Content. The session and its messages
// leave every read path (soft delete, audited).
chat::Status delete_session(const RouteContext& ctx, const chat::Principal& who, SessionRequest& in) {
  return ctx.service.delete_conversation(who, in.key);
}
Reply render_deleted(const SessionRequest&) { return Reply::no_content(); }

// ---- messages (the session is embedded in every message: one call reads both)

chat::Result<AtNow<chat::ThreadMessages>> list_messages(const RouteContext& ctx, const chat::Principal& who,
                                                        ListSessionMessagesRequest& in) {
  return at_now(ctx, ctx.service.list_thread_messages(who, in.key, std::move(in.query)));
}
// The bytes dump_json(message_json(m, session)) would give, with the session
// rendered once by the caller (`session_text`): a list repeats the same session
// in every message, and copying and serialising it per message was about a
// third of a list's rendering (issue 11). The keys of a json object are in
// order (id, message, metadata, role, session, timestamp), so the message's
// first four fields are rendered by the library, and session and timestamp
// (digits and ASCII punctuation only) appended after them.
void append_message_text(std::string& out, const chat::Message& m, std::string_view session_text) {
  const json head = {{"id", m.uuid},
                     {"message", m.content},
                     {"metadata", json_from_text(m.metadata)},
                     {"role", chat::to_string(m.role)}};
  std::string text = dump_json(head);
  text.pop_back();  // the object's '}'
  out += text;
  out += ",\"session\":";
  out += session_text;
  out += ",\"timestamp\":\"";
  out += chat::format_timestamp(m.created_at);
  out += "\"}";
}

Reply render_messages(const ListSessionMessagesRequest&, const AtNow<chat::ThreadMessages>& thread) {
  const std::string session = dump_json(session_json(thread.value.conversation, thread.now));
  const auto& items = thread.value.messages.items;
  std::string out = "[";
  out.reserve(items.size() * (session.size() + 256));
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    append_message_text(out, items[i], session);
  }
  out += ']';
  return Reply::ok_text(std::move(out));
}

chat::Result<AtNow<chat::PostResult>> post_message(const RouteContext& ctx, const chat::Principal& who,
                                                   PostSessionMessageRequest& in) {
  return at_now(ctx, ctx.service.post_message(who, in.key, std::move(in.message)));
}
Reply render_posted(const PostSessionMessageRequest&, const AtNow<chat::PostResult>& p) {
  return Reply::created(message_json(p.value.message, session_json(p.value.conversation, p.now)));
}

chat::Result<AtNow<chat::ThreadMessage>> get_message(const RouteContext& ctx, const chat::Principal& who,
                                                     SessionMessageRequest& in) {
  return at_now(ctx, ctx.service.get_thread_message(who, in.key));
}
Reply render_message(const SessionMessageRequest&, const AtNow<chat::ThreadMessage>& t) {
  return Reply::ok(message_json(t.value.message, session_json(t.value.conversation, t.now)));
}

// Soft delete (is_deleted in the seed): 204, gone from every read path.
chat::Status delete_message(const RouteContext& ctx, const chat::Principal& who, SessionMessageRequest& in) {
  return ctx.service.delete_message(who, in.key);
}
Reply render_deleted_message(const SessionMessageRequest&) { return Reply::no_content(); }

// ---- chat

chat::Result<chat::ReplyResult> chat_reply(const RouteContext& ctx, const chat::Principal& who,
                                           SessionChatRequest& in, const RequestScope& scope) {
  in.reply.stop = scope.stop;  // a client gone cancels the model call
  return ctx.service.reply(who, in.key, std::move(in.reply));
}
Reply render_reply(const SessionChatRequest&, const chat::ReplyResult& out) {
  return Reply::ok({{"response", out.assistant_message.content},
                    {"session_id", out.conversation.handle},
                    {"message_id", out.user_message ? json(out.user_message->uuid) : json(nullptr)},
                    {"response_id", out.assistant_message.uuid}});
}

// ---- SSE chat. Everything that can be refused is refused before the stream
// starts (plain JSON 4xx): the body, a stream slot (429), and check_reply
// (unknown session 404, expired or inactive 410). The reply then runs inside
// httplib's chunked content provider, each chunk written to the socket as the
// provider produces it. A client gone (write fails, socket not writable) or a
// server stopping cancels the reply: the service stores what was produced with
// status failed. The request's stop token travels with the job (a copy: the
// scope ends with the handler), so a client gone while the model has not sent
// its first token yet ends the stream too, not only at the next write. A reply failing after the stream started (the session
// expiring in between, the model failing) ends with an error event:
//   data: {"done": true, "error": {"code": ..., "message": ...}, "message_id": ...}

struct StreamJob {
  chat::Principal who;
  SessionChatRequest request;
};

chat::Result<StreamJob> check_stream(const RouteContext& ctx, const chat::Principal& who, SessionChatRequest& in,
                                     const RequestScope& scope) {
  CHAT_RETURN_IF_ERROR(ctx.service.check_reply(who, in.key, in.reply));
  in.reply.stop = scope.stop;
  return StreamJob{who, std::move(in)};
}

std::string json_text(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// One chunk event, byte for byte as the seed's Django view writes it
// (Python's json.dumps separators ", " and ": ", keys in this order):
//   data: {"chunk": "Once", "done": false, "message_id": "uuid"}\n\n
std::string sse_chunk(std::string_view chunk, bool done, const std::string& message_id,
                      const std::string* response_id = nullptr) {
  std::string out = "data: {\"chunk\": " + json_text(std::string(chunk));
  out += done ? ", \"done\": true" : ", \"done\": false";
  out += ", \"message_id\": " + json_text(message_id);
  if (response_id) out += ", \"response_id\": " + json_text(*response_id);
  out += "}\n\n";
  return out;
}

std::string sse_error(const chat::Error& e, const std::string& message_id) {
  const std::string message = e.code == chat::ErrorCode::kInternal ? "internal error" : e.message;
  const json data = {{"done", true},
                     {"error", {{"code", chat::to_string(e.code)}, {"message", message}}},
                     {"message_id", message_id.empty() ? json(nullptr) : json(message_id)}};
  return "data: " + json_text(data) + "\n\n";
}

// Renders the reply as it is produced; false ends the stream without its last event.
bool stream_reply(const RouteContext& ctx, StreamJob& job, httplib::DataSink& sink) {
  std::string user_uuid;
  bool client_gone = false;
  auto on_chunk = [&](const chat::StreamEvent& e) {
    if (e.user_message) user_uuid = e.user_message->uuid;
    if (ctx.stopping.load(std::memory_order_relaxed) || !sink.is_writable()) {
      client_gone = true;
      return false;
    }
    const std::string event = sse_chunk(e.chunk, false, user_uuid);
    if (!sink.write(event.data(), event.size())) {
      client_gone = true;
      return false;
    }
    return true;
  };
  auto out = ctx.service.reply_stream(job.who, job.request.key, std::move(job.request.reply), on_chunk);
  if (client_gone) return false;
  std::string last;
  if (out) {
    if (out->user_message) user_uuid = out->user_message->uuid;
    last = sse_chunk("", true, user_uuid, &out->assistant_message.uuid);
  } else {
    last = sse_error(restyle(kErrors, std::move(out).error()).error, user_uuid);
  }
  if (!sink.write(last.data(), last.size())) return false;
  sink.done();
  return true;
}

}  // namespace

void register_seed001_routes(Router& router, const RouteContext& ctx) {
  router.post("/api/chats/sessions/",
              endpoint(ctx, kOptional, kErrors, parse_create_session, create_session, render_created_session));
  router.get("/api/chats/sessions/",
             endpoint(ctx, kOptional, kErrors, parse_list_sessions, list_sessions, render_sessions));
  router.get("/api/chats/sessions/{id}/", endpoint(ctx, kOptional, kErrors, parse_session, get_session, render_session));
  router.del("/api/chats/sessions/{id}/",
             endpoint(ctx, kOptional, kErrors, parse_session, delete_session, render_deleted));

  router.get("/api/chats/messages/",
             endpoint(ctx, kOptional, kErrors, parse_list_session_messages, list_messages, render_messages));
  router.post("/api/chats/messages/",
              endpoint(ctx, kOptional, kErrors, parse_post_session_message, post_message, render_posted));
  router.get("/api/chats/messages/{id}/",
             endpoint(ctx, kOptional, kErrors, parse_session_message, get_message, render_message));
  router.del("/api/chats/messages/{id}/",
             endpoint(ctx, kOptional, kErrors, parse_session_message, delete_message, render_deleted_message));

  router.post("/api/chats/messages/chat/", endpoint(ctx, kOptional, kErrors, parse_session_chat, chat_reply, render_reply));
  router.post("/api/chats/messages/chat/stream/",
              stream_endpoint(ctx, kOptional, kErrors, "too many open streams; retry shortly", parse_session_chat,
                              check_stream, stream_reply));

  // Issue 14: the session's events (event_stream_route.hpp); the session id is
  // the capability, as for its other routes.
  register_event_routes(
      router, ctx,
      {"/api/chats/sessions/{id}/events", kOptional, &kErrors,
       [](const httplib::Request& req, const PathParams& p) -> chat::Result<chat::ConversationKey> {
         CHAT_ASSIGN_OR_RETURN(auto in, parse_session(req, p));
         return std::move(in.key);
       },
       {[&ctx](const chat::Message& m, const chat::Conversation& c) {
          return message_json(m, session_json(c, ctx.clock.now()));
        },
        [&ctx](const chat::Conversation& c) { return session_json(c, ctx.clock.now()); },
        /*typing_user_id=*/false},
       /*tickets=*/true});
}

}  // namespace chatd
