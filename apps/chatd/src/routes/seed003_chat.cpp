// Seed 003: conversations, AI replies, analytics, search (JWT), docs/seed-003.md.
//
// Every route needs a bearer token and answers {"success", "message", "data"}.
// Conversations are kind `support` (conversation_type = Conversation::type).
//
//   GET    /chat/conversations?limit&offset          1   list (own; agents: every support one; admins: all)
//   POST   /chat/conversations                       2   {title, agent_id?, conversation_type?} -> 201
//   GET    /chat/conversations/{id}                  3
//   GET    /chat/conversations/{id}/messages         4   ?limit&offset, chronological
//   POST   /chat/conversations/{id}/messages         5   {content, sender_type?: user|agent} -> 201
//   POST   /chat/conversations/{id}/ai-response      6   {message?, agent_id?, include_context?}
//   PUT    /chat/conversations/{id}                  7   {title?, is_pinned?, is_archived?, status?, agent_id?}
//   DELETE /chat/conversations/{id}                  8   soft delete
//   GET    /chat/analytics/dashboard?days=7          9
//   GET    /chat/analytics/global                    10  admin
//   GET    /chat/search?query&limit&offset           11
//   POST   /chat/conversations/{id}/read             +   {up_to?} marks read (owner)
//   GET    /chat/conversations/{id}/sessions         +   activity sessions (30 min idle gap)
#include <httplib.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxOffset = std::numeric_limits<std::int32_t>::max();

json time_or_null(const std::optional<chat::Timestamp>& t) {
  return t ? json(chat::format_timestamp(*t)) : json(nullptr);
}

// Seed 003 user ids are integers: "1" renders as 1; other ids stay strings; none is null.
json user_id_json(const std::string& id) {
  if (id.empty()) return nullptr;
  if (auto n = parse_int64(id)) return *n;
  return id;
}

json conversation_json(const chat::Conversation& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"user_id", user_id_json(c.user_id)},
          {"agent_id", c.agent_id ? json(*c.agent_id) : json(nullptr)},
          {"conversation_type", c.type},
          {"status", c.status},
          {"is_archived", c.is_archived},
          {"is_pinned", c.is_pinned},
          {"total_messages", c.total_messages},
          {"unread_count", c.unread_count},
          {"last_message_at", time_or_null(c.last_message_at)},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"updated_at", chat::format_timestamp(c.updated_at)}};
}

std::string_view sender_of(chat::Role r) { return r == chat::Role::kUser ? "user" : "agent"; }

json message_json(const chat::Message& m) {
  return {{"id", m.id},
          {"conversation_id", m.conversation_id},
          {"content", m.content},
          {"content_type", m.content_type},
          {"sender", sender_of(m.role)},
          {"message_type", m.message_type},
          {"status", chat::to_string(m.status)},
          {"tokens_used", m.tokens_used ? json(*m.tokens_used) : json(nullptr)},
          {"processing_time", m.processing_time ? json(*m.processing_time) : json(nullptr)},
          {"cost", m.cost ? json(*m.cost) : json(nullptr)},
          {"created_at", chat::format_timestamp(m.created_at)}};
}

void ok(httplib::Response& res, int status, std::string message, json data) {
  render_json(res, status, {{"success", true}, {"message", std::move(message)}, {"data", std::move(data)}});
}

// The {id} of a path as a conversation key; nullopt (after a 404) when it is not an integer.
std::optional<chat::ConversationKey> conversation_key(const PathParams& p, httplib::Response& res) {
  auto id = parse_int64(p.get("id"));
  if (!id || *id <= 0) {
    render_error(res, chat::Error::not_found("conversation not found"));
    return std::nullopt;
  }
  return chat::ConversationKey::of_id(*id, chat::ConversationKind::kSupport);
}

std::string plural(std::int64_t n, const char* word) {
  return "Found " + std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

void register_seed003_routes(Router& router, const RouteContext& ctx) {
  // 1. List conversations.
  router.get("/chat/conversations", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto limit = query_int64(req, "limit", 20, 1, 100);
    if (!limit) return render_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, kMaxOffset);
    if (!offset) return render_error(res, offset.error());
    chat::ConversationQuery q;
    q.kind = chat::ConversationKind::kSupport;
    q.order = chat::ConversationOrder::kRecentActivity;
    q.limit = *limit;
    q.offset = *offset;
    auto page = ctx.service.list_conversations(*who, q);
    if (!page) return render_error(res, page.error());
    json items = json::array();
    for (const auto& c : page->items) items.push_back(conversation_json(c));
    ok(res, 200, plural(page->total, "conversation"),
       {{"conversations", std::move(items)}, {"total", page->total}, {"limit", *limit}, {"offset", *offset}});
  });

  // 2. Create a conversation.
  router.post("/chat/conversations", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    auto title = required_nonempty_string(*body, "title");
    if (!title) return render_error(res, title.error());
    auto agent_id = optional_int64(*body, "agent_id");
    if (!agent_id) return render_error(res, agent_id.error());
    auto type = optional_string(*body, "conversation_type");
    if (!type) return render_error(res, type.error());
    chat::NewConversation c;
    c.kind = chat::ConversationKind::kSupport;
    c.title = std::move(*title);
    c.agent_id = *agent_id;
    if (*type) c.type = **type;
    auto created = ctx.service.create_conversation(*who, std::move(c));
    if (!created) return render_error(res, created.error());
    ok(res, 201, "Conversation created successfully", {{"conversation_id", created->id}});
  });

  // 3. Conversation details.
  router.get("/chat/conversations/{id}", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto c = ctx.service.get_conversation(*who, *key);
    if (!c) return render_error(res, c.error());
    ok(res, 200, "Conversation found", conversation_json(*c));
  });

  // 7. Update.
  router.put("/chat/conversations/{id}", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    chat::ConversationPatch patch;
    auto title = optional_string(*body, "title");
    if (!title) return render_error(res, title.error());
    if (*title) {
      if (title->value().find_first_not_of(" \t\r\n") == std::string::npos)
        return render_error(res, chat::Error::invalid("title", "title: must not be empty"));
      patch.title = **title;
    }
    auto pinned = optional_bool(*body, "is_pinned");
    if (!pinned) return render_error(res, pinned.error());
    patch.is_pinned = *pinned;
    auto archived = optional_bool(*body, "is_archived");
    if (!archived) return render_error(res, archived.error());
    patch.is_archived = *archived;
    auto status = optional_string(*body, "status");
    if (!status) return render_error(res, status.error());
    if (*status) {
      if ((*status)->empty()) return render_error(res, chat::Error::invalid("status", "status: must not be empty"));
      patch.status = **status;
    }
    auto agent_id = optional_int64(*body, "agent_id");
    if (!agent_id) return render_error(res, agent_id.error());
    patch.agent_id = *agent_id;
    auto updated = ctx.service.update_conversation(*who, *key, patch);
    if (!updated) return render_error(res, updated.error());
    ok(res, 200, "Conversation updated successfully", {{"conversation_id", updated->id}});
  });

  // 8. Delete (soft).
  router.del("/chat/conversations/{id}", [&ctx](const httplib::Request& req, httplib::Response& res,
                                               const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto st = ctx.service.delete_conversation(*who, *key);
    if (!st) return render_error(res, st.error());
    ok(res, 200, "Conversation deleted successfully", {{"conversation_id", key->id}});
  });

  // 4. Messages, chronological.
  router.get("/chat/conversations/{id}/messages", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                         const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto limit = query_int64(req, "limit", 50, 1, 100);
    if (!limit) return render_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, kMaxOffset);
    if (!offset) return render_error(res, offset.error());
    chat::MessageQuery q;
    q.include_system = false;
    q.limit = *limit;
    q.offset = *offset;
    auto page = ctx.service.list_messages(*who, *key, q);
    if (!page) return render_error(res, page.error());
    json items = json::array();
    for (const auto& m : page->items) items.push_back(message_json(m));
    ok(res, 200, plural(page->total, "message"),
       {{"messages", std::move(items)}, {"total", page->total}, {"limit", *limit}, {"offset", *offset}});
  });

  // 5. Add a message.
  router.post("/chat/conversations/{id}/messages", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                          const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    auto content = required_nonempty_string(*body, "content");
    if (!content) return render_error(res, content.error());
    auto sender = optional_string(*body, "sender_type");
    if (!sender) return render_error(res, sender.error());
    chat::NewMessage m;
    m.content = std::move(*content);
    const std::string s = sender->value_or("user");
    if (s == "user") {
      m.role = chat::Role::kUser;
    } else if (s == "agent") {
      m.agent_side = true;
    } else {
      return render_error(res, chat::Error::invalid("sender_type", "sender_type: must be \"user\" or \"agent\""));
    }
    auto posted = ctx.service.post_message(*who, *key, std::move(m));
    if (!posted) return render_error(res, posted.error());
    const auto& msg = posted->message;
    ok(res, 201, "Message added successfully",
       {{"message_id", msg.id},
        {"conversation_id", msg.conversation_id},
        {"content", msg.content},
        {"sender", sender_of(msg.role)},
        {"created_at", chat::format_timestamp(msg.created_at)}});
  });

  // 6. AI response.
  router.post("/chat/conversations/{id}/ai-response", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                             const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto body = parse_json_object(req, EmptyBody::kAsEmptyObject);
    if (!body) return render_error(res, body.error());
    auto message = optional_string(*body, "message");
    if (!message) return render_error(res, message.error());
    auto agent_id = optional_int64(*body, "agent_id");
    if (!agent_id) return render_error(res, agent_id.error());
    auto include = optional_bool(*body, "include_context");
    if (!include) return render_error(res, include.error());
    chat::ReplyRequest r;
    r.content = message->value_or("");
    if (r.content.find_first_not_of(" \t\r\n") == std::string::npos) r.content.clear();
    r.agent_id = *agent_id;
    r.include_context = include->value_or(true);
    r.reuse_latest_user_message = true;
    auto out = ctx.service.reply(*who, *key, std::move(r));
    if (!out) return render_error(res, out.error());
    const auto& a = out->assistant_message;
    ok(res, 200, "AI response generated",
       {{"message_id", a.id},
        {"ai_response", a.content},
        {"tokens_used", out->usage.completion_tokens},
        {"prompt_tokens", out->usage.prompt_tokens},
        {"processing_time", out->usage.processing_time},
        {"cost", out->usage.cost},
        {"user_message_id", out->user_message ? json(out->user_message->id) : json(nullptr)},
        {"created_at", chat::format_timestamp(a.created_at)}});
  });

  // + Mark read.
  router.post("/chat/conversations/{id}/read", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                      const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto body = parse_json_object(req, EmptyBody::kAsEmptyObject);
    if (!body) return render_error(res, body.error());
    auto up_to = optional_int64(*body, "up_to");
    if (!up_to) return render_error(res, up_to.error());
    if (*up_to && **up_to < 0) return render_error(res, chat::Error::invalid("up_to", "up_to: must not be negative"));
    auto c = ctx.service.mark_read(*who, *key, up_to->value_or(0));
    if (!c) return render_error(res, c.error());
    ok(res, 200, "Conversation marked read",
       {{"conversation_id", c->id},
        {"unread_count", c->unread_count},
        {"last_read_message_id", c->last_read_message_id}});
  });

  // + Activity sessions.
  router.get("/chat/conversations/{id}/sessions", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                         const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto key = conversation_key(p, res);
    if (!key) return;
    auto sessions = ctx.service.list_activity_periods(*who, *key);
    if (!sessions) return render_error(res, sessions.error());
    json items = json::array();
    for (const auto& s : *sessions)
      items.push_back({{"conversation_id", s.conversation_id},
                       {"session_start", chat::format_timestamp(s.start)},
                       {"session_end", chat::format_timestamp(s.end)},
                       {"messages_count", s.message_count},
                       {"duration_minutes", s.duration_minutes}});
    ok(res, 200, plural(static_cast<std::int64_t>(sessions->size()), "session"),
       {{"sessions", std::move(items)}, {"total", sessions->size()}});
  });

  // 9. Dashboard.
  router.get("/chat/analytics/dashboard", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                 const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto days = query_int64(req, "days", 7, 1, 366);
    if (!days) return render_error(res, days.error());
    auto d = ctx.service.analytics_dashboard(*who, chat::DashboardQuery{*days});
    if (!d) return render_error(res, d.error());
    json daily = json::array();
    for (const auto& s : d->daily_stats)
      daily.push_back({{"date", s.date}, {"conversations", s.conversations}, {"messages", s.messages}});
    json agent = nullptr;
    if (d->most_active_agent)
      agent = {{"agent_id", d->most_active_agent->agent_id},
               {"name", d->most_active_agent->name},
               {"message_count", d->most_active_agent->message_count}};
    ok(res, 200, "Analytics retrieved",
       {{"total_conversations", d->total_conversations},
        {"total_messages", d->total_messages},
        {"average_response_time", d->average_response_time.value_or(0.0)},
        {"most_active_agent", std::move(agent)},
        {"daily_stats", std::move(daily)},
        {"total_sessions", d->total_activity_periods},
        {"average_session_duration", d->average_activity_period_minutes.value_or(0.0)},
        {"days", *days}});
  });

  // 10. Global (admin).
  router.get("/chat/analytics/global", [&ctx](const httplib::Request& req, httplib::Response& res,
                                              const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto g = ctx.service.analytics_global(*who);
    if (!g) return render_error(res, g.error());
    json agents = json::array();
    for (const auto& a : g->top_performing_agents)
      agents.push_back({{"agent_id", a.agent_id},
                        {"name", a.name},
                        {"total_conversations", a.total_conversations},
                        {"success_rate", a.success_rate ? json(*a.success_rate) : json(nullptr)},
                        {"replies", a.replies},
                        {"failed_replies", a.failed_replies}});
    ok(res, 200, "Global analytics retrieved",
       {{"total_conversations_all_users", g->total_conversations},
        {"total_messages_all_users", g->total_messages},
        {"average_conversations_per_user", g->average_conversations_per_user},
        {"total_users", g->users},
        {"top_performing_agents", std::move(agents)}});
  });

  // 11. Search.
  router.get("/chat/search", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto query = query_string(req, "query");
    if (!query) return render_error(res, query.error());
    if (!*query || (*query)->find_first_not_of(" \t\r\n") == std::string::npos)
      return render_error(res, chat::Error::invalid("query", "query: required"));
    auto limit = query_int64(req, "limit", 20, 1, 100);
    if (!limit) return render_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, kMaxOffset);
    if (!offset) return render_error(res, offset.error());
    chat::SearchQuery q;
    q.text = **query;
    q.kind = chat::ConversationKind::kSupport;
    q.limit = *limit;
    q.offset = *offset;
    auto hits = ctx.service.search_messages(*who, q);
    if (!hits) {
      chat::Error e = hits.error();
      if (e.field == "text") e.field = "query";
      return render_error(res, e);
    }
    json results = json::array();
    for (const auto& h : hits->items)
      results.push_back({{"message_id", h.message.id},
                         {"conversation_id", h.message.conversation_id},
                         {"content", h.message.content},
                         {"sender", sender_of(h.message.role)},
                         {"created_at", chat::format_timestamp(h.message.created_at)},
                         {"score", h.score}});
    ok(res, 200, plural(hits->total, "result"),
       {{"results", std::move(results)}, {"query", **query}, {"total", hits->total}, {"limit", *limit},
        {"offset", *offset}});
  });
}

}  // namespace chatd
