// Seed 001: public chat sessions, messages, chat and SSE chat under /api/chats/
// (docs/seed-001.md has the walk-through and every choice made here).
//
// Public: no token needed. A valid bearer token makes its holder the principal
// (sessions it creates are then its own); a bad one is 401, never anonymous.
//
// Vocabulary: a session is a Conversation of kind `session`; `id` is its uuid,
// `session_id` its handle; a message's `id` is its uuid, `message` its content,
// `timestamp` its created_at. Every key is scoped to kind `session`, so these
// routes never reach another seed's threads.
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {
namespace {

using nlohmann::json;
constexpr auto kSession = chat::ConversationKind::kSession;

// Listing pages: the seed returns bare arrays without pagination, so limit and
// offset are optional query parameters (at most the service's max_page). A
// session's history defaults to the largest page so that a front end gets the
// whole of any ordinary chat.
constexpr std::int64_t kDefaultSessionPage = 100;

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json session_json(const chat::Conversation& c, chat::Timestamp now) {
  return {{"id", c.uuid},
          {"session_id", c.handle},
          {"external_user_id", nullable(c.external_user_id)},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"expires_at", c.expires_at ? json(chat::format_timestamp(*c.expires_at)) : json(nullptr)},
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

// The library names its own fields (handle, content) and threads
// ("conversation"); the seed's client knows session_id, message and sessions.
// Only names are translated, never the code.
chat::Error seed_field(chat::Error e) {
  static const std::pair<const char*, const char*> kNames[] = {{"handle", "session_id"}, {"content", "message"}};
  for (const auto& [lib, seed] : kNames) {
    if (e.field != lib) continue;
    e.field = seed;
    const std::string from(lib);
    if (e.message.rfind(from, 0) == 0) e.message = seed + e.message.substr(from.size());
  }
  return e;
}

void render_seed_error(httplib::Response& res, chat::Error e) { render_error(res, seed_field(std::move(e))); }

// role: user, assistant or system (seed 001's three), 400 naming the field otherwise.
chat::Result<chat::Role> parse_seed_role(const std::string& text) {
  auto r = chat::parse_role(text);
  if (!r || *r == chat::Role::kAgent) return chat::Error::invalid("role", "role: must be user, assistant or system");
  return *r;
}

// The required, non-empty string fields of the chat routes.
struct ChatInput {
  std::string session_id;
  std::string message;
};
chat::Result<ChatInput> parse_chat_input(const httplib::Request& req) {
  auto body = parse_json_object(req);
  if (!body) return body.error();
  auto session_id = required_nonempty_string(*body, "session_id");
  if (!session_id) return session_id.error();
  auto message = required_nonempty_string(*body, "message");
  if (!message) return message.error();
  return ChatInput{std::move(*session_id), std::move(*message)};
}

std::string json_text(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_event(const json& data) { return "data: " + json_text(data) + "\n\n"; }

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

void register_session_routes(Router& router, const RouteContext& ctx) {
  router.post("/api/chats/sessions/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    auto body = parse_json_object(req, EmptyBody::kAsEmptyObject);
    if (!body) return render_seed_error(res, body.error());
    chat::NewConversation c;
    c.kind = kSession;
    auto session_id = optional_string(*body, "session_id");
    if (!session_id) return render_seed_error(res, session_id.error());
    if (*session_id) c.handle = **session_id;  // "" counts as absent: generated
    auto external = optional_string(*body, "external_user_id");
    if (!external) return render_seed_error(res, external.error());
    if (*external) c.external_user_id = **external;
    auto metadata = optional_object(*body, "metadata");
    if (!metadata) return render_seed_error(res, metadata.error());
    if (*metadata) c.metadata = **metadata;
    auto expires = optional_string(*body, "expires_at");
    if (!expires) return render_seed_error(res, expires.error());
    if (*expires) {
      auto t = chat::parse_timestamp(**expires);
      if (!t) return render_error(res, chat::Error::invalid("expires_at", "expires_at: not an ISO 8601 time"));
      c.expires_at = *t;
    }
    auto created = ctx.service.create_conversation(*who, std::move(c));
    if (!created) return render_seed_error(res, created.error());
    render_json(res, 201, session_json(*created, ctx.clock.now()));
  });

  router.get("/api/chats/sessions/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    chat::ConversationQuery q;
    q.kind = kSession;
    auto is_active = query_bool(req, "is_active");
    if (!is_active) return render_seed_error(res, is_active.error());
    q.is_active = *is_active;
    auto external = query_string(req, "external_user_id");
    if (!external) return render_seed_error(res, external.error());
    q.external_user_id = *external;
    auto search = query_string(req, "search");
    if (!search) return render_seed_error(res, search.error());
    if (*search) q.search = **search;
    auto limit = query_int64(req, "limit", kDefaultSessionPage, 1, ctx.service.limits().max_page);
    if (!limit) return render_seed_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, INT64_MAX);
    if (!offset) return render_seed_error(res, offset.error());
    q.limit = *limit;
    q.offset = *offset;
    auto page = ctx.service.list_conversations(*who, std::move(q));
    if (!page) return render_seed_error(res, page.error());
    const auto now = ctx.clock.now();
    json out = json::array();
    for (const auto& c : page->items) out.push_back(session_json(c, now));
    render_json(res, 200, out);
  });

  router.get("/api/chats/sessions/{id}/",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_optional(req, res);
               if (!who) return;
               auto c = ctx.service.get_conversation(*who, chat::ConversationKey::of_any(std::string(p.get("id")), kSession));
               if (!c) return render_seed_error(res, c.error());
               render_json(res, 200, session_json(*c, ctx.clock.now()));
             });

  // DRF's ModelViewSet.destroy: 204 No Content. The session and its messages
  // leave every read path (soft delete, audited).
  router.del("/api/chats/sessions/{id}/",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_optional(req, res);
               if (!who) return;
               auto st = ctx.service.delete_conversation(*who,
                                                         chat::ConversationKey::of_any(std::string(p.get("id")), kSession));
               if (!st) return render_seed_error(res, st.error());
               res.status = 204;
             });
}

void register_message_routes(Router& router, const RouteContext& ctx) {
  router.get("/api/chats/messages/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    auto session_id = query_string(req, "session_id");
    if (!session_id) return render_seed_error(res, session_id.error());
    if (!*session_id) {
      return render_error(res, chat::Error::invalid("session_id", "session_id: required query parameter"));
    }
    chat::MessageQuery q;
    auto role = query_string(req, "role");
    if (!role) return render_seed_error(res, role.error());
    if (*role) {
      auto r = parse_seed_role(**role);
      if (!r) return render_seed_error(res, r.error());
      q.role = *r;
    }
    auto search = query_string(req, "search");
    if (!search) return render_seed_error(res, search.error());
    if (*search) q.search = **search;
    auto limit = query_int64(req, "limit", ctx.service.limits().max_page, 1, ctx.service.limits().max_page);
    if (!limit) return render_seed_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, INT64_MAX);
    if (!offset) return render_seed_error(res, offset.error());
    q.limit = *limit;
    q.offset = *offset;
    // The session is embedded in every message: one call reads both.
    auto thread = ctx.service.list_thread_messages(*who, chat::ConversationKey::of_any(**session_id, kSession),
                                                   std::move(q));
    if (!thread) return render_seed_error(res, thread.error());
    const json session = session_json(thread->conversation, ctx.clock.now());
    json out = json::array();
    for (const auto& m : thread->messages.items) out.push_back(message_json(m, session));
    render_json(res, 200, out);
  });

  router.post("/api/chats/messages/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_seed_error(res, body.error());
    auto session_id = required_nonempty_string(*body, "session_id");
    if (!session_id) return render_seed_error(res, session_id.error());
    auto message = required_nonempty_string(*body, "message");
    if (!message) return render_seed_error(res, message.error());
    chat::NewMessage m;
    m.content = std::move(*message);
    auto role = optional_string(*body, "role");
    if (!role) return render_seed_error(res, role.error());
    if (*role) {
      auto r = parse_seed_role(**role);
      if (!r) return render_seed_error(res, r.error());
      m.role = *r;
    }
    auto metadata = optional_object(*body, "metadata");
    if (!metadata) return render_seed_error(res, metadata.error());
    if (*metadata) m.metadata = **metadata;
    auto posted = ctx.service.post_message(*who, chat::ConversationKey::of_any(*session_id, kSession), std::move(m));
    if (!posted) return render_seed_error(res, posted.error());
    render_json(res, 201, message_json(posted->message, session_json(posted->conversation, ctx.clock.now())));
  });

  router.get("/api/chats/messages/{id}/",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_optional(req, res);
               if (!who) return;
               auto t = ctx.service.get_thread_message(*who,
                                                       chat::MessageKey::of_uuid(std::string(p.get("id")), kSession));
               if (!t) return render_seed_error(res, t.error());
               render_json(res, 200, message_json(t->message, session_json(t->conversation, ctx.clock.now())));
             });

  // Soft delete (is_deleted in the seed): 204, gone from every read path.
  router.del("/api/chats/messages/{id}/",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_optional(req, res);
               if (!who) return;
               auto st = ctx.service.delete_message(*who, chat::MessageKey::of_uuid(std::string(p.get("id")), kSession));
               if (!st) return render_seed_error(res, st.error());
               res.status = 204;
             });
}

// The state of one SSE response, shared by the content provider (which runs
// after the handler returned) and kept alive by it.
struct StreamJob {
  StreamSlots::Slot slot;
  chat::Principal who;
  std::string session_id;
  chat::ReplyRequest request;
};

void register_chat_routes(Router& router, const RouteContext& ctx) {
  router.post("/api/chats/messages/chat/",
              [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
                auto who = ctx.authenticate_optional(req, res);
                if (!who) return;
                auto in = parse_chat_input(req);
                if (!in) return render_seed_error(res, in.error());
                chat::ReplyRequest r;
                r.content = std::move(in->message);
                auto out = ctx.service.reply(*who, chat::ConversationKey::of_any(in->session_id, kSession), std::move(r));
                if (!out) return render_seed_error(res, out.error());
                render_json(res, 200,
                            {{"response", out->assistant_message.content},
                             {"session_id", out->conversation.handle},
                             {"message_id", out->user_message ? json(out->user_message->uuid) : json(nullptr)},
                             {"response_id", out->assistant_message.uuid}});
              });

  // SSE. Everything that can be refused is refused before the stream starts
  // (plain JSON 4xx): the body, a stream slot (429), and check_reply (unknown
  // session 404, expired or inactive 410). The reply then runs inside httplib's
  // chunked content provider, each chunk written to the socket as the provider
  // produces it. A client gone (write fails, socket not writable) or a server
  // stopping cancels the reply: the service stores what was produced with
  // status failed. A reply failing after the stream started (the session
  // expiring in between, the model failing) ends with an error event:
  //   data: {"done": true, "error": {"code": ..., "message": ...}, "message_id": ...}
  router.post(
      "/api/chats/messages/chat/stream/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
        auto who = ctx.authenticate_optional(req, res);
        if (!who) return;
        auto in = parse_chat_input(req);
        if (!in) return render_seed_error(res, in.error());
        chat::ReplyRequest r;
        r.content = std::move(in->message);
        auto slot = ctx.streams.try_acquire();
        if (!slot) {
          return render_error(res, chat::Error{chat::ErrorCode::kResourceExhausted,
                                               "too many open streams; retry shortly", {}});
        }
        auto checked = ctx.service.check_reply(*who, chat::ConversationKey::of_any(in->session_id, kSession), r);
        if (!checked) return render_seed_error(res, checked.error());

        auto job = std::make_shared<StreamJob>(StreamJob{std::move(*slot), *who, std::move(in->session_id), std::move(r)});
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider("text/event-stream", [&ctx, job](std::size_t, httplib::DataSink& sink) {
          // Runs outside the router's exception net: nothing may escape.
          try {
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
            auto out = ctx.service.reply_stream(job->who, chat::ConversationKey::of_any(job->session_id, kSession),
                                                std::move(job->request), on_chunk);
            if (client_gone) return false;
            std::string last;
            if (out) {
              if (out->user_message) user_uuid = out->user_message->uuid;
              last = sse_chunk("", true, user_uuid, &out->assistant_message.uuid);
            } else {
              const chat::Error e = seed_field(out.error());
              const std::string message = e.code == chat::ErrorCode::kInternal ? "internal error" : e.message;
              last = sse_event({{"done", true},
                                {"error", {{"code", chat::to_string(e.code)}, {"message", message}}},
                                {"message_id", user_uuid.empty() ? json(nullptr) : json(user_uuid)}});
            }
            if (!sink.write(last.data(), last.size())) return false;
            sink.done();
            return true;
          } catch (...) {
            return false;
          }
        });
      });
}

}  // namespace

void register_seed001_routes(Router& router, const RouteContext& ctx) {
  register_session_routes(router, ctx);
  register_message_routes(router, ctx);
  register_chat_routes(router, ctx);
}

}  // namespace chatd
