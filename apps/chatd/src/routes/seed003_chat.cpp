// Seed 003: conversations, AI replies, analytics, search (JWT), docs/seed-003.md.
//
// Every route needs a bearer token and answers {"success", "message", "data"}.
// Conversations are kind `support` (conversation_type = Conversation::type).
// Requests and their parsers: routes/seed003_requests.hpp.
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
//   GET    /chat/conversations/{id}/sessions         +   activity sessions (30 min idle gap), ?limit&offset
//   GET    /chat/conversations/{id}/events           +   event stream (issue 14, event_stream_route.hpp):
//                                                        data = a message or the conversation, as above
//   POST   /chat/conversations/{id}/events/typing    +   {active?} -> 204
//   POST   /chat/conversations/{id}/events/ticket    +   -> {ticket, expires_in} for EventSource
//
// Lists (limit/offset query parameters, next page = offset + items received,
// since a page may end early at ServiceOptions::max_page_bytes; "total" counts all):
//   conversations 20 by default, messages 50, search 20, sessions 100; at most 100 each,
//   offset 0..2^31-1. Search ranks the newest 1000 matches only (chat/store.hpp).
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "event_stream_route.hpp"
#include "routes/routes.hpp"
#include "routes/seed003_requests.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

// The library's search field is "text"; the seed's parameter is "query".
const ErrorStyle kErrors{{{"text", "query"}}, nullptr};
// ai-response names the user's text "message" (the library's ReplyRequest::content).
const ErrorStyle kAiResponseErrors{{{"text", "query"}, {"content", "message"}}, nullptr};

// ---- rendering

json conversation_json(const chat::Conversation& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"user_id", user_id_json(c.user_id)},
          {"agent_id", value_or_null(c.agent_id)},
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
          {"tokens_used", value_or_null(m.tokens_used)},
          {"processing_time", value_or_null(m.processing_time)},
          {"cost", value_or_null(m.cost)},
          {"created_at", chat::format_timestamp(m.created_at)}};
}

std::string plural(std::int64_t n, const char* word) {
  return "Found " + std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

Reply ok(int status, std::string message, json data) {
  return Reply{status, success_message_data(std::move(message), std::move(data)), std::nullopt};
}

// ---- 1. List conversations.
chat::Result<chat::Page<chat::Conversation>> list_chats(const RouteContext& ctx, const chat::Principal& who,
                                                        ListSupportChatsRequest& in) {
  return ctx.service.list_conversations(who, in.query);
}
Reply render_chats(const ListSupportChatsRequest& in, const chat::Page<chat::Conversation>& page) {
  json items = json::array();
  for (const auto& c : page.items) items.push_back(conversation_json(c));
  return ok(200, plural(page.total, "conversation"),
            {{"conversations", std::move(items)},
             {"total", page.total},
             {"limit", in.page.limit},
             {"offset", in.page.offset}});
}

// ---- 2. Create a conversation.
chat::Result<chat::Conversation> create_chat(const RouteContext& ctx, const chat::Principal& who,
                                             CreateSupportChatRequest& in) {
  return ctx.service.create_conversation(who, std::move(in.conversation));
}
Reply render_created(const CreateSupportChatRequest&, const chat::Conversation& c) {
  return ok(201, "Conversation created successfully", {{"conversation_id", c.id}});
}

// ---- 3. Conversation details.
chat::Result<chat::Conversation> get_chat(const RouteContext& ctx, const chat::Principal& who, SupportChatRequest& in) {
  return ctx.service.get_conversation(who, in.key);
}
Reply render_chat(const SupportChatRequest&, const chat::Conversation& c) {
  return ok(200, "Conversation found", conversation_json(c));
}

// ---- 7. Update.
chat::Result<chat::Conversation> update_chat(const RouteContext& ctx, const chat::Principal& who,
                                             UpdateSupportChatRequest& in) {
  return ctx.service.update_conversation(who, in.key, in.patch);
}
Reply render_updated(const UpdateSupportChatRequest&, const chat::Conversation& c) {
  return ok(200, "Conversation updated successfully", {{"conversation_id", c.id}});
}

// ---- 8. Delete (soft).
chat::Status delete_chat(const RouteContext& ctx, const chat::Principal& who, SupportChatRequest& in) {
  return ctx.service.delete_conversation(who, in.key);
}
Reply render_deleted(const SupportChatRequest& in) {
  return ok(200, "Conversation deleted successfully", {{"conversation_id", in.key.id}});
}

// ---- 4. Messages, chronological.
chat::Result<chat::Page<chat::Message>> list_chat_messages(const RouteContext& ctx, const chat::Principal& who,
                                                           ListSupportChatMessagesRequest& in) {
  chat::MessageQuery q;
  q.include_system = false;
  q.limit = in.page.limit;
  q.offset = in.page.offset;
  return ctx.service.list_messages(who, in.key, q);
}
Reply render_chat_messages(const ListSupportChatMessagesRequest& in, const chat::Page<chat::Message>& page) {
  json items = json::array();
  for (const auto& m : page.items) items.push_back(message_json(m));
  return ok(200, plural(page.total, "message"),
            {{"messages", std::move(items)},
             {"total", page.total},
             {"limit", in.page.limit},
             {"offset", in.page.offset}});
}

// ---- 5. Add a message.

chat::Result<chat::PostResult> add_chat_message(const RouteContext& ctx, const chat::Principal& who,
                                                AddSupportChatMessageRequest& in) {
  chat::NewMessage m;
  m.content = std::move(in.content);
  // Sender "agent": libchat stores role agent for a human agent, assistant for anyone else (NewMessage::agent_side).
  m.agent_side = in.sender == Sender::kAgent;
  return ctx.service.post_message(who, in.key, std::move(m));
}
Reply render_added(const AddSupportChatMessageRequest&, const chat::PostResult& posted) {
  const auto& msg = posted.message;
  return ok(201, "Message added successfully",
            {{"message_id", msg.id},
             {"conversation_id", msg.conversation_id},
             {"content", msg.content},
             {"sender", sender_of(msg.role)},
             {"created_at", chat::format_timestamp(msg.created_at)}});
}

// ---- 6. AI response.
chat::Result<chat::ReplyResult> ai_response(const RouteContext& ctx, const chat::Principal& who,
                                            AiResponseRequest& in, const RequestScope& scope) {
  in.reply.stop = scope.stop;  // a client gone cancels the model call
  return ctx.service.reply(who, in.key, std::move(in.reply));
}
Reply render_ai_response(const AiResponseRequest&, const chat::ReplyResult& out) {
  const auto& a = out.assistant_message;
  return ok(200, "AI response generated",
            {{"message_id", a.id},
             {"ai_response", a.content},
             {"tokens_used", out.usage.completion_tokens},
             {"prompt_tokens", out.usage.prompt_tokens},
             {"processing_time", out.usage.processing_time},
             {"cost", out.usage.cost},
             {"user_message_id", out.user_message ? json(out.user_message->id) : json(nullptr)},
             {"created_at", chat::format_timestamp(a.created_at)}});
}

// ---- + Mark read.
chat::Result<chat::Conversation> mark_read(const RouteContext& ctx, const chat::Principal& who, MarkReadRequest& in) {
  return ctx.service.mark_read(who, in.key, in.up_to);
}
Reply render_marked(const MarkReadRequest&, const chat::Conversation& c) {
  return ok(200, "Conversation marked read",
            {{"conversation_id", c.id},
             {"unread_count", c.unread_count},
             {"last_read_message_id", c.last_read_message_id}});
}

// ---- + Activity sessions.
// The service computes every period (a pass over the messages); the answer
// is one page of them, "total" counting all.
chat::Result<std::vector<chat::ActivityPeriod>> list_activity(const RouteContext& ctx, const chat::Principal& who,
                                                           ListActivityRequest& in) {
  return ctx.service.list_activity_periods(who, in.key);
}
Reply render_activity(const ListActivityRequest& in, const std::vector<chat::ActivityPeriod>& sessions) {
  json items = json::array();
  for (const auto& s : page_of(sessions, in.page))
    items.push_back({{"conversation_id", s.conversation_id},
                     {"session_start", chat::format_timestamp(s.start)},
                     {"session_end", chat::format_timestamp(s.end)},
                     {"messages_count", s.message_count},
                     {"duration_minutes", s.duration_minutes}});
  return ok(200, plural(static_cast<std::int64_t>(sessions.size()), "session"),
            {{"sessions", std::move(items)},
             {"total", sessions.size()},
             {"limit", in.page.limit},
             {"offset", in.page.offset}});
}

// ---- 9. Dashboard.
chat::Result<chat::Dashboard> dashboard(const RouteContext& ctx, const chat::Principal& who, chat::DashboardQuery& q) {
  return ctx.service.analytics_dashboard(who, q);
}
Reply render_dashboard(const chat::DashboardQuery& q, const chat::Dashboard& d) {
  json daily = json::array();
  for (const auto& s : d.daily_stats)
    daily.push_back({{"date", s.date}, {"conversations", s.conversations}, {"messages", s.messages}});
  json agent = nullptr;
  if (d.most_active_agent)
    agent = {{"agent_id", d.most_active_agent->agent_id},
             {"name", d.most_active_agent->name},
             {"message_count", d.most_active_agent->message_count}};
  return ok(200, "Analytics retrieved",
            {{"total_conversations", d.total_conversations},
             {"total_messages", d.total_messages},
             {"average_response_time", d.average_response_time.value_or(0.0)},
             {"most_active_agent", std::move(agent)},
             {"daily_stats", std::move(daily)},
             {"total_sessions", d.total_activity_periods},
             {"average_session_duration", d.average_activity_period_minutes.value_or(0.0)},
             {"days", q.days}});
}

// ---- 10. Global (admin: the service checks the role).
chat::Result<chat::GlobalAnalytics> global_analytics(const RouteContext& ctx, const chat::Principal& who, NoInput&) {
  return ctx.service.analytics_global(who);
}
Reply render_global(const NoInput&, const chat::GlobalAnalytics& g) {
  json agents = json::array();
  for (const auto& a : g.top_performing_agents)
    agents.push_back({{"agent_id", a.agent_id},
                      {"name", a.name},
                      {"total_conversations", a.total_conversations},
                      {"success_rate", value_or_null(a.success_rate)},
                      {"replies", a.replies},
                      {"failed_replies", a.failed_replies}});
  return ok(200, "Global analytics retrieved",
            {{"total_conversations_all_users", g.total_conversations},
             {"total_messages_all_users", g.total_messages},
             {"average_conversations_per_user", g.average_conversations_per_user},
             {"total_users", g.users},
             {"top_performing_agents", std::move(agents)}});
}

// ---- 11. Search.
chat::Result<chat::Page<chat::SearchHit>> search(const RouteContext& ctx, const chat::Principal& who,
                                                 SearchSupportRequest& in) {
  return ctx.service.search_messages(who, in.query);
}
Reply render_search(const SearchSupportRequest& in, const chat::Page<chat::SearchHit>& hits) {
  json results = json::array();
  for (const auto& h : hits.items)
    results.push_back({{"message_id", h.message.id},
                       {"conversation_id", h.message.conversation_id},
                       {"content", h.message.content},
                       {"sender", sender_of(h.message.role)},
                       {"created_at", chat::format_timestamp(h.message.created_at)},
                       {"score", h.score}});
  return ok(200, plural(hits.total, "result"),
            {{"results", std::move(results)},
             {"query", in.query.text},
             {"total", hits.total},
             {"limit", in.page.limit},
             {"offset", in.page.offset}});
}

}  // namespace

void register_seed003_routes(Router& router, const RouteContext& ctx) {
  constexpr auto kUser = Access::kUser;
  const std::string one = "/chat/conversations/{id}";
  router.get("/chat/conversations", endpoint(ctx, kUser, kErrors, parse_list_support_chats, list_chats, render_chats));
  router.post("/chat/conversations",
              endpoint(ctx, kUser, kErrors, parse_create_support_chat, create_chat, render_created));
  router.get(one, endpoint(ctx, kUser, kErrors, parse_support_chat, get_chat, render_chat));
  router.put(one, endpoint(ctx, kUser, kErrors, parse_update_support_chat, update_chat, render_updated));
  router.del(one, endpoint(ctx, kUser, kErrors, parse_support_chat, delete_chat, render_deleted));
  router.get(one + "/messages", endpoint(ctx, kUser, kErrors, parse_list_support_chat_messages, list_chat_messages,
                                         render_chat_messages));
  router.post(one + "/messages",
              endpoint(ctx, kUser, kErrors, parse_add_support_chat_message, add_chat_message, render_added));
  router.post(one + "/ai-response", endpoint(ctx, kUser, kAiResponseErrors, parse_ai_response, ai_response, render_ai_response));
  router.post(one + "/read", endpoint(ctx, kUser, kErrors, parse_mark_read, mark_read, render_marked));
  router.get(one + "/sessions", endpoint(ctx, kUser, kErrors, parse_list_activity, list_activity, render_activity));
  register_event_routes(router, ctx,
                        {one + "/events", kUser, &kErrors,
                         [](const httplib::Request& req, const PathParams& p) -> chat::Result<chat::ConversationKey> {
                           CHAT_ASSIGN_OR_RETURN(auto in, parse_support_chat(req, p));
                           return std::move(in.key);
                         },
                         {[](const chat::Message& m, const chat::Conversation&) { return message_json(m); },
                          [](const chat::Conversation& c) { return conversation_json(c); }},
                         /*tickets=*/true});
  router.get("/chat/analytics/dashboard", endpoint(ctx, kUser, kErrors, parse_dashboard, dashboard, render_dashboard));
  router.get("/chat/analytics/global", endpoint(ctx, kUser, kErrors, parse_nothing, global_analytics, render_global));
  router.get("/chat/search", endpoint(ctx, kUser, kErrors, parse_search_support, search, render_search));
}

}  // namespace chatd
