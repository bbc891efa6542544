// Seed 004: resume-coach AI sessions (Flask blueprint "chat", base /api/chat),
// and the profile registry it reads (PUT/GET /api/profile/).
//
// Every route needs a bearer token except GET /api/chat/health. A session is a
// libchat conversation of kind coach; <session_id> in a path is its uuid (what
// "session_id" holds in every answer) or its integer id. Another user's
// session, a deactivated one and an unknown one all answer 404. Requests and
// their parsers: routes/seed004_requests.hpp.
//
//   POST /api/chat/start {"job_id": 123 | "123", "question": "..."}
//     -> 200 {"session_id", "id", "response", "created", "session": {...}, "usage": {...}}
//   POST /api/chat/<session_id>/message {"message": "..."}
//     -> 200 {"session_id", "response", "message_count", "total_tokens_used", "usage": {...}}
//   GET  /api/chat/<session_id>/history[?limit&offset]   (limit 1..1000, default 1000: a session whole)
//     -> 200 {"session_id", "messages": [{"id", "role", "content", "timestamp", "status"}], "count",
//             "total", "has_more"}   (count: turns in this answer; total: the session's non-system
//             messages; next page: offset + count, a page may end early at the byte budget)
//   GET  /api/chat/<session_id>/context
//     -> 200 {"session_id", "job_id", "initial_context", "resume", "job_description"}
//   GET  /api/chat/sessions[?limit&offset]   (limit 1..1000, default 100)
//     -> 200 {"sessions": [session...], "count", "has_more"}   (count: all the caller's active
//             sessions; next page: offset + sessions received)
//   POST /api/chat/<session_id>/deactivate -> 200 {"session_id", "is_active": false, "message"}
//   GET  /api/chat/health            -> 200 {"status": "healthy", "service": "chat"}
//   GET  /api/chat/<session_id>/events  event stream (issue 14, event_stream_route.hpp): data = a
//             history message {"id", "role", "content", "timestamp", "status"} or the session object;
//             POST .../events/typing {active?} -> 204; POST .../events/ticket -> {ticket, expires_in}
//   PUT  /api/profile/ {"work_history"?: [...], "education"?: [...], "projects"?: [...], "skills"?: [...]}
//     -> 200 the profile (an absent section is stored empty: PUT replaces)
//   GET  /api/profile/               -> 200 {"work_history", "education", "projects", "skills", "updated_at"}
//
// A session object: {"session_id", "id", "job_id", "title", "is_active",
// "created_at", "updated_at", "last_message_at", "total_messages",
// "total_tokens_used", "resume_tokens", "job_tokens", "resume_truncated",
// "job_truncated"}; total_tokens_used is the conversation's total_tokens
// (the tokens_used of its live messages: the completion tokens of replies).
// "usage" is the reply's {"prompt_tokens", "completion_tokens", "total_tokens"}.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "event_stream_route.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"
#include "routes/seed004_requests.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

// The library's reply field is "content"; the seed's is "message" (the
// library already words start_coach_session's errors as "question" and "job_id").
const ErrorStyle kErrors{{{"content", "message"}}, nullptr};

// ---- rendering

json session_json(const chat::CoachSession& s) {
  const chat::Conversation& c = s.conversation;
  return {{"session_id", c.uuid},
          {"id", c.id},
          {"job_id", s.job_id},
          {"title", c.title},
          {"is_active", c.is_active},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"updated_at", chat::format_timestamp(c.updated_at)},
          {"last_message_at", time_or_null(c.last_message_at)},
          {"total_messages", c.total_messages},
          {"total_tokens_used", c.total_tokens},
          {"resume_tokens", s.resume_tokens},
          {"job_tokens", s.job_tokens},
          {"resume_truncated", s.resume_truncated},
          {"job_truncated", s.job_truncated}};
}

json history_message_json(const chat::Message& m) {
  return {{"id", m.id},
          {"role", chat::to_string(m.role)},
          {"content", m.content},
          {"timestamp", chat::format_timestamp(m.created_at)},
          {"status", chat::to_string(m.status)}};
}

json usage_json(const chat::Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens}};
}

json profile_json(const chat::Profile& p) {
  return {{"work_history", json_from_text(p.work_history)},
          {"education", json_from_text(p.education)},
          {"projects", json_from_text(p.projects)},
          {"skills", json_from_text(p.skills)},
          {"updated_at", p.updated_at.time_since_epoch().count() == 0 ? json(nullptr)
                                                                      : json(chat::format_timestamp(p.updated_at))}};
}

// ---- POST /api/chat/start
chat::Result<chat::CoachStartResult> start(const RouteContext& ctx, const chat::Principal& who,
                                           StartCoachRequest& in, const RequestScope& scope) {
  in.start.stop = scope.stop;  // a client gone cancels the model call
  return ctx.service.start_coach_session(who, std::move(in.start));
}
Reply render_started(const StartCoachRequest&, const chat::CoachStartResult& r) {
  const auto& c = r.reply.conversation;
  return Reply::ok({{"session_id", c.uuid},
                    {"id", c.id},
                    {"response", r.reply.assistant_message.content},
                    {"created", r.created},
                    {"session", session_json(r.session)},
                    {"usage", usage_json(r.reply.usage)}});
}

// ---- POST /api/chat/<session_id>/message
chat::Result<chat::ReplyResult> send_message(const RouteContext& ctx, const chat::Principal& who,
                                             CoachMessageRequest& in, const RequestScope& scope) {
  in.reply.stop = scope.stop;  // a client gone cancels the model call
  return ctx.service.reply(who, in.key, std::move(in.reply));
}
Reply render_reply(const CoachMessageRequest&, const chat::ReplyResult& out) {
  return Reply::ok({{"session_id", out.conversation.uuid},
                    {"response", out.assistant_message.content},
                    {"message_count", out.conversation.total_messages},
                    {"total_tokens_used", out.conversation.total_tokens},
                    {"usage", usage_json(out.usage)}});
}

// ---- GET /api/chat/<session_id>/history: the user and assistant turns.
chat::Result<chat::Page<chat::Message>> history(const RouteContext& ctx, const chat::Principal& who,
                                                CoachHistoryRequest& in) {
  return ctx.service.list_messages(who, in.key, in.query);
}
Reply render_history(const CoachHistoryRequest& in, const chat::Page<chat::Message>& page) {
  json messages = json::array();
  for (const auto& m : page.items) {
    if (m.role != chat::Role::kUser && m.role != chat::Role::kAssistant) continue;
    messages.push_back(history_message_json(m));
  }
  const auto n = messages.size();
  return Reply::ok({{"session_id", in.session_id},
                    {"messages", std::move(messages)},
                    {"count", n},
                    {"total", page.total},
                    {"has_more", page.has_more}});
}

// ---- GET /api/chat/<session_id>/context
chat::Result<chat::CoachContextSections> get_context(const RouteContext& ctx, const chat::Principal& who,
                                                     CoachSessionRequest& in) {
  return ctx.service.get_coach_context(who, in.key);
}
Reply render_context(const CoachSessionRequest&, const chat::CoachContextSections& c) {
  return Reply::ok({{"session_id", c.session.conversation.uuid},
                    {"job_id", c.session.job_id},
                    {"initial_context", c.initial_context},
                    {"resume", c.resume},
                    {"job_description", c.job_description}});
}

// ---- GET /api/chat/sessions
// The caller's own active sessions (admins too: libchat's list_coach_sessions).
chat::Result<chat::Page<chat::CoachSession>> list_sessions(const RouteContext& ctx, const chat::Principal& who,
                                                           ListCoachSessionsRequest& in) {
  return ctx.service.list_coach_sessions(who, in.query);
}
Reply render_sessions(const ListCoachSessionsRequest&, const chat::Page<chat::CoachSession>& page) {
  json sessions = json::array();
  for (const auto& s : page.items) sessions.push_back(session_json(s));
  return Reply::ok({{"sessions", std::move(sessions)}, {"count", page.total}, {"has_more", page.has_more}});
}

// ---- POST /api/chat/<session_id>/deactivate
chat::Status deactivate(const RouteContext& ctx, const chat::Principal& who, CoachSessionRequest& in) {
  return ctx.service.delete_conversation(who, in.key);
}
Reply render_deactivated(const CoachSessionRequest& in) {
  return Reply::ok({{"session_id", in.session_id}, {"is_active", false}, {"message", "session deactivated"}});
}

// ---- PUT and GET /api/profile/
chat::Result<chat::Profile> put_profile(const RouteContext& ctx, const chat::Principal& who, PutProfileRequest& in) {
  return ctx.service.put_profile(who, std::move(in.profile));
}
chat::Result<chat::Profile> get_profile(const RouteContext& ctx, const chat::Principal& who, NoInput&) {
  return ctx.service.get_profile(who);
}
template <class In>
Reply render_profile(const In&, const chat::Profile& p) {
  return Reply::ok(profile_json(p));
}

}  // namespace

void register_seed004_routes(Router& router, const RouteContext& ctx) {
  constexpr auto kUser = Access::kUser;
  router.get("/api/chat/health", fixed_json(200, {{"status", "healthy"}, {"service", "chat"}}));
  router.post("/api/chat/start", endpoint(ctx, kUser, kErrors, parse_start_coach, start, render_started));
  router.post("/api/chat/{session_id}/message",
              endpoint(ctx, kUser, kErrors, parse_coach_message, send_message, render_reply));
  router.get("/api/chat/{session_id}/history",
             endpoint(ctx, kUser, kErrors, parse_coach_history, history, render_history));
  router.get("/api/chat/{session_id}/context",
             endpoint(ctx, kUser, kErrors, parse_coach_session, get_context, render_context));
  router.get("/api/chat/sessions",
             endpoint(ctx, kUser, kErrors, parse_list_coach_sessions, list_sessions, render_sessions));
  router.post("/api/chat/{session_id}/deactivate",
              endpoint(ctx, kUser, kErrors, parse_coach_session, deactivate, render_deactivated));
  register_event_routes(router, ctx,
                        {"/api/chat/{session_id}/events", kUser, &kErrors,
                         [](const httplib::Request& req, const PathParams& p) -> chat::Result<chat::ConversationKey> {
                           CHAT_ASSIGN_OR_RETURN(auto in, parse_coach_session(req, p));
                           return std::move(in.key);
                         },
                         {[](const chat::Message& m, const chat::Conversation&) { return history_message_json(m); },
                          [](const chat::Conversation& c) { return session_json(chat::coach_session_from(c)); }},
                         /*tickets=*/true});
  router.put("/api/profile/",
             endpoint(ctx, kUser, kErrors, parse_put_profile, put_profile, render_profile<PutProfileRequest>));
  router.get("/api/profile/", endpoint(ctx, kUser, kErrors, parse_nothing, get_profile, render_profile<NoInput>));
}

}  // namespace chatd
