// Seed 002: customer chat with polling (Django Ninja), docs/seed-002.md.
//
//   POST /api/messages/[?since=N]        customer (or agent) post; creates the conversation when
//                                        `conversation` is missing, not a uuid, or unknown
//   GET  /api/messages/{uuid}/[?since=N][&wait=S]   poll (long-poll with wait, capped by ServiceOptions::max_wait, 30 s)
//   GET  /api/conversation/[?limit&offset]          support conversations (token role agent/admin)
//
// Envelope: {"items": [...], "count": n}; a message item is
// {"conversation": uuid, "id": n, "date": iso, "content": text, "author": "CUS"|"AGE"}
// (CUS = role user; AGE = every other role: agent or assistant).
#include <httplib.h>

#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

json message_item(const std::string& conversation_uuid, const chat::Message& m) {
  return {{"conversation", conversation_uuid},
          {"id", m.id},
          {"date", chat::format_timestamp(m.created_at)},
          {"content", m.content},
          {"author", m.role == chat::Role::kUser ? "CUS" : "AGE"}};
}

json message_items(const std::string& conversation_uuid, const std::vector<chat::Message>& messages) {
  json items = json::array();
  for (const auto& m : messages) items.push_back(message_item(conversation_uuid, m));
  return {{"items", std::move(items)}, {"count", messages.size()}};
}

std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

json optional_time(const std::optional<chat::Timestamp>& t) {
  return t ? json(chat::format_timestamp(*t)) : json(nullptr);
}

json conversation_item(const chat::Conversation& c) {
  return {{"uuid", c.uuid},
          {"id", c.id},
          {"name", c.name},
          {"email", c.email},
          {"user_id", c.user_id.empty() ? json(nullptr) : json(c.user_id)},
          {"status", c.status},
          {"total_messages", c.total_messages},
          {"last_message_at", optional_time(c.last_message_at)},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"updated_at", chat::format_timestamp(c.updated_at)}};
}

}  // namespace

void register_seed002_routes(Router& router, const RouteContext& ctx) {
  // POST /api/messages/: append to a support conversation or open a new one.
  router.post("/api/messages/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    auto since = query_int64(req, "since", 0, kMaxId);
    if (!since) return render_error(res, since.error());
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    auto conversation = optional_string(*body, "conversation");
    if (!conversation) return render_error(res, conversation.error());
    auto name = optional_string(*body, "name");
    if (!name) return render_error(res, name.error());
    auto email = optional_string(*body, "email");
    if (!email) return render_error(res, email.error());
    auto content = required_nonempty_string(*body, "content");
    if (!content) return render_error(res, content.error());

    chat::SupportPost post;
    post.conversation = conversation->value_or("");
    post.name = name->value_or("");
    post.email = email->value_or("");
    post.content = std::move(*content);
    post.after_id = *since;
    auto out = ctx.service.post_support_message(*who, std::move(post));
    if (!out) return render_error(res, out.error());
    render_json(res, 200, message_items(out->conversation.uuid, out->messages));
  });

  // GET /api/messages/{uuid}/?since=N[&wait=S]
  router.get("/api/messages/{uuid}/", [&ctx](const httplib::Request& req, httplib::Response& res,
                                             const PathParams& p) {
    auto who = ctx.authenticate_optional(req, res);
    if (!who) return;
    auto since = query_int64(req, "since", 0, 0, kMaxId);
    if (!since) return render_error(res, since.error());
    auto wait = query_int64(req, "wait", 0, 0, std::numeric_limits<std::int32_t>::max());
    if (!wait) return render_error(res, wait.error());
    const std::string uuid(p.get("uuid"));
    const auto key = chat::ConversationKey::of_uuid(uuid, chat::ConversationKind::kSupport);

    if (*wait > 0 && !ctx.stopping.load()) {
      auto slot = ctx.streams.try_acquire();
      if (!slot) {
        return render_error(res, chat::Error{chat::ErrorCode::kResourceExhausted,
                                             "too many open long-polls; retry later", {}});
      }
      auto got = ctx.service.wait_for_messages(*who, key, *since, std::chrono::seconds(*wait));
      if (!got) return render_error(res, got.error());
      return render_json(res, 200, message_items(lower(uuid), *got));
    }

    chat::MessageQuery q;
    q.after_id = *since;
    q.limit = ctx.service.limits().max_page;
    auto page = ctx.service.list_messages(*who, key, q);
    if (!page) return render_error(res, page.error());
    render_json(res, 200, message_items(lower(uuid), page->items));
  });

  // GET /api/conversation/: the agent console's list.
  router.get("/api/conversation/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res, chat::PrincipalRole::kAgent);
    if (!who) return;
    auto limit = query_int64(req, "limit", 100, 1, ctx.service.limits().max_page);
    if (!limit) return render_error(res, limit.error());
    auto offset = query_int64(req, "offset", 0, 0, kMaxId);
    if (!offset) return render_error(res, offset.error());
    chat::ConversationQuery q;
    q.kind = chat::ConversationKind::kSupport;
    q.order = chat::ConversationOrder::kRecentActivity;
    q.limit = *limit;
    q.offset = *offset;
    auto page = ctx.service.list_conversations(*who, q);
    if (!page) return render_error(res, page.error());
    json items = json::array();
    for (const auto& c : page->items) items.push_back(conversation_item(c));
    render_json(res, 200, {{"items", std::move(items)}, {"count", page->total}});
  });
}

}  // namespace chatd
