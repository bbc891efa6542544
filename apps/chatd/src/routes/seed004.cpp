// Seed 004: resume-coach AI sessions (Flask blueprint "chat", base /api/chat),
// and the profile registry it reads (PUT/GET /api/profile/).
//
// Every route needs a bearer token except GET /api/chat/health. A session is a
// libchat conversation of kind coach; <session_id> in a path is its uuid (what
// "session_id" holds in every answer) or its integer id. Another user's
// session, a deactivated one and an unknown one all answer 404.
//
//   POST /api/chat/start {"job_id": 123 | "123", "question": "..."}
//     -> 200 {"session_id", "id", "response", "created", "session": {...}, "usage": {...}}
//   POST /api/chat/<session_id>/message {"message": "..."}
//     -> 200 {"session_id", "response", "message_count", "total_tokens_used", "usage": {...}}
//   GET  /api/chat/<session_id>/history
//     -> 200 {"session_id", "messages": [{"id", "role", "content", "timestamp", "status"}], "count"}
//   GET  /api/chat/<session_id>/context
//     -> 200 {"session_id", "job_id", "initial_context", "resume", "job_description"}
//   GET  /api/chat/sessions          -> 200 {"sessions": [session...], "count"}
//   POST /api/chat/<session_id>/deactivate -> 200 {"session_id", "is_active": false, "message"}
//   GET  /api/chat/health            -> 200 {"status": "healthy", "service": "chat"}
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

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

chat::ConversationKey session_key(std::string_view id) {
  return chat::ConversationKey::of_any(std::string(id), chat::ConversationKind::kCoach);
}

json opt_time(const std::optional<chat::Timestamp>& t) {
  return t ? json(chat::format_timestamp(*t)) : json(nullptr);
}

json session_json(const chat::CoachSession& s) {
  const chat::Conversation& c = s.conversation;
  return {{"session_id", c.uuid},
          {"id", c.id},
          {"job_id", s.job_id},
          {"title", c.title},
          {"is_active", c.is_active},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"updated_at", chat::format_timestamp(c.updated_at)},
          {"last_message_at", opt_time(c.last_message_at)},
          {"total_messages", c.total_messages},
          {"total_tokens_used", c.total_tokens},
          {"resume_tokens", s.resume_tokens},
          {"job_tokens", s.job_tokens},
          {"resume_truncated", s.resume_truncated},
          {"job_truncated", s.job_truncated}};
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

// The wire name of a libchat field.
chat::Error renamed(chat::Error e, std::string_view from, std::string_view to) {
  if (e.field == from) e.field = std::string(to);
  return e;
}

}  // namespace

void register_seed004_routes(Router& router, const RouteContext& ctx) {
  router.get("/api/chat/health", [](const httplib::Request&, httplib::Response& res, const PathParams&) {
    render_json(res, 200, {{"status", "healthy"}, {"service", "chat"}});
  });

  router.post("/api/chat/start", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    chat::CoachStart s;
    auto it = body->find("job_id");
    if (it == body->end() || it->is_null())
      return render_error(res, chat::Error::invalid("job_id", "job_id: required"));
    if (it->is_number_integer()) {
      s.job_id = std::to_string(it->get<std::int64_t>());
    } else if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
      s.job_id = it->get<std::string>();
    } else {
      return render_error(res, chat::Error::invalid("job_id", "job_id: must be an integer or a non-empty string"));
    }
    auto question = required_nonempty_string(*body, "question");
    if (!question) return render_error(res, question.error());
    s.question = std::move(*question);

    auto r = ctx.service.start_coach_session(*who, std::move(s));
    if (!r) return render_error(res, r.error());
    const auto& c = r->reply.conversation;
    render_json(res, 200,
                {{"session_id", c.uuid},
                 {"id", c.id},
                 {"response", r->reply.assistant_message.content},
                 {"created", r->created},
                 {"session", session_json(r->session)},
                 {"usage", usage_json(r->reply.usage)}});
  });

  router.post("/api/chat/{session_id}/message",
              [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
                auto who = ctx.authenticate_required(req, res);
                if (!who) return;
                auto body = parse_json_object(req);
                if (!body) return render_error(res, body.error());
                auto message = required_nonempty_string(*body, "message");
                if (!message) return render_error(res, message.error());
                chat::ReplyRequest r;
                r.content = std::move(*message);
                auto out = ctx.service.reply(*who, session_key(p.get("session_id")), std::move(r));
                if (!out) return render_error(res, renamed(out.error(), "content", "message"));
                render_json(res, 200,
                            {{"session_id", out->conversation.uuid},
                             {"response", out->assistant_message.content},
                             {"message_count", out->conversation.total_messages},
                             {"total_tokens_used", out->conversation.total_tokens},
                             {"usage", usage_json(out->usage)}});
              });

  router.get("/api/chat/{session_id}/history",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_required(req, res);
               if (!who) return;
               chat::MessageQuery q;
               q.include_system = false;
               q.limit = ctx.service.limits().max_page;
               auto page = ctx.service.list_messages(*who, session_key(p.get("session_id")), q);
               if (!page) return render_error(res, page.error());
               json messages = json::array();
               for (const auto& m : page->items) {
                 if (m.role != chat::Role::kUser && m.role != chat::Role::kAssistant) continue;
                 messages.push_back({{"id", m.id},
                                     {"role", chat::to_string(m.role)},
                                     {"content", m.content},
                                     {"timestamp", chat::format_timestamp(m.created_at)},
                                     {"status", chat::to_string(m.status)}});
               }
               const auto n = messages.size();
               render_json(res, 200,
                           {{"session_id", std::string(p.get("session_id"))}, {"messages", std::move(messages)},
                            {"count", n}});
             });

  router.get("/api/chat/{session_id}/context",
             [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
               auto who = ctx.authenticate_required(req, res);
               if (!who) return;
               auto c = ctx.service.get_coach_context(*who, session_key(p.get("session_id")));
               if (!c) return render_error(res, c.error());
               render_json(res, 200,
                           {{"session_id", c->session.conversation.uuid},
                            {"job_id", c->session.job_id},
                            {"initial_context", c->initial_context},
                            {"resume", c->resume},
                            {"job_description", c->job_description}});
             });

  router.get("/api/chat/sessions", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    chat::CoachSessionQuery q;
    q.limit = ctx.service.limits().max_page;
    auto page = ctx.service.list_coach_sessions(*who, q);
    if (!page) return render_error(res, page.error());
    json sessions = json::array();
    for (const auto& s : page->items) sessions.push_back(session_json(s));
    render_json(res, 200, {{"sessions", std::move(sessions)}, {"count", page->total}});
  });

  router.post("/api/chat/{session_id}/deactivate",
              [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
                auto who = ctx.authenticate_required(req, res);
                if (!who) return;
                auto st = ctx.service.delete_conversation(*who, session_key(p.get("session_id")));
                if (!st) return render_error(res, st.error());
                render_json(res, 200,
                            {{"session_id", std::string(p.get("session_id"))},
                             {"is_active", false},
                             {"message", "session deactivated"}});
              });

  router.put("/api/profile/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    chat::Profile p;
    for (auto [field, out] : {std::pair<const char*, std::string*>{"work_history", &p.work_history},
                              {"education", &p.education},
                              {"projects", &p.projects},
                              {"skills", &p.skills}}) {
      auto v = optional_array(*body, field);
      if (!v) return render_error(res, v.error());
      *out = v->value_or("[]");
    }
    auto saved = ctx.service.put_profile(*who, std::move(p));
    if (!saved) return render_error(res, saved.error());
    render_json(res, 200, profile_json(*saved));
  });

  router.get("/api/profile/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto p = ctx.service.get_profile(*who);
    if (!p) return render_error(res, p.error());
    render_json(res, 200, profile_json(*p));
  });
}

}  // namespace chatd
