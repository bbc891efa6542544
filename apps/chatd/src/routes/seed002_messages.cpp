// Seed 002: customer chat with polling (Django Ninja), docs/seed-002.md.
//
//   POST /api/messages/[?since=N]        customer (or agent) post; creates the conversation when
//                                        `conversation` is missing, not a uuid, or unknown
//                                        (then charged as a creation: 429 past the limit)
//   GET  /api/messages/{uuid}/[?since=N][&wait=S]   poll (long-poll with wait, capped by ServiceOptions::max_wait: 30 s)
//   GET  /api/conversation/[?limit&offset]          support conversations (token role agent/admin)
//   GET  /api/messages/{uuid}/events                 event stream (issue 14, event_stream_route.hpp):
//                                                    data = a message item, or a conversation item
//   POST /api/messages/{uuid}/events/typing          typing -> 204
//   POST /api/messages/{uuid}/events/ticket          a stream ticket for an agent's browser (token)
//
// Envelope: {"items": [...], "count": n}; a message item is
// {"conversation": uuid, "id": n, "date": iso, "content": text, "author": "CUS"|"AGE"}
// (CUS = role user; AGE = every other role: agent or assistant). Requests and
// their parsers: routes/seed002_requests.hpp.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "event_stream_route.hpp"
#include "routes/routes.hpp"
#include "routes/seed002_requests.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

// ---- rendering

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
  return items_count(std::move(items), static_cast<std::int64_t>(messages.size()));
}

std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

json conversation_item(const chat::Conversation& c) {
  return {{"uuid", c.uuid},
          {"id", c.id},
          {"name", c.name},
          {"email", c.email},
          {"user_id", string_or_null(c.user_id)},
          {"status", c.status},
          {"total_messages", c.total_messages},
          {"last_message_at", time_or_null(c.last_message_at)},
          {"created_at", chat::format_timestamp(c.created_at)},
          {"updated_at", chat::format_timestamp(c.updated_at)}};
}

// ---- POST /api/messages/: append to a support conversation or open a new one.
// Only the service knows whether the post opens a conversation, so it charges
// the creation rate limits (address and user) just before it creates: a
// refused post stores nothing (rate_limit_policy.hpp).
chat::Result<chat::SupportPostResult> post_message(const RouteContext& ctx, const chat::Principal& who,
                                                   PostSupportMessageRequest& in, const RequestScope& scope) {
  in.post.admit_new_conversation = [&scope, &who] { return admit_creation(scope, who); };
  return ctx.service.post_support_message(who, std::move(in.post));
}
Reply render_posted(const PostSupportMessageRequest&, const chat::SupportPostResult& out) {
  return Reply::ok(message_items(out.conversation.uuid, out.messages));
}

// ---- GET /api/messages/{uuid}/?since=N[&wait=S]

// One call either way: wait_for_messages with wait 0 reads the messages after
// `since` now; with a wait (capped by the service, ServiceOptions::max_wait)
// it is a long-poll, which holds a worker thread and so takes a stream slot
// first (429 when none is free). A server that is stopping answers at once,
// and the wait ends as soon as the request's stop token is requested (the
// client hung up: its slot is free again at once).
chat::Result<std::vector<chat::Message>> poll_messages(const RouteContext& ctx, const chat::Principal& who,
                                                       PollMessagesRequest& in, const RequestScope& scope) {
  const bool long_poll = in.wait_seconds > 0 && !ctx.stopping.load();
  const auto slot = long_poll ? ctx.streams.try_acquire(scope.client_address) : std::optional<StreamSlots::Slot>();
  if (long_poll && !slot) return chat::Error::resource_exhausted("too many open long-polls; retry later");
  return ctx.service.wait_for_messages(who, in.key, in.since, std::chrono::seconds(long_poll ? in.wait_seconds : 0),
                                     scope.stop);
}
Reply render_polled(const PollMessagesRequest& in, const std::vector<chat::Message>& messages) {
  return Reply::ok(message_items(lower(in.uuid), messages));
}

// ---- GET /api/conversation/: the agent console's list.
chat::Result<chat::Page<chat::Conversation>> list_conversations(const RouteContext& ctx, const chat::Principal& who,
                                                                ListSupportConversationsRequest& in) {
  return ctx.service.list_conversations(who, in.query);
}
Reply render_conversations(const ListSupportConversationsRequest&, const chat::Page<chat::Conversation>& page) {
  json items = json::array();
  for (const auto& c : page.items) items.push_back(conversation_item(c));
  return Reply::ok(items_count(std::move(items), page.total));
}

}  // namespace

void register_seed002_routes(Router& router, const RouteContext& ctx) {
  const auto& errors = plain_errors();
  router.post("/api/messages/",
              endpoint(ctx, Access::kOptional, errors, parse_post_support_message, post_message, render_posted));
  router.get("/api/messages/{uuid}/",
             endpoint(ctx, Access::kOptional, errors, parse_poll_messages, poll_messages, render_polled));
  router.get("/api/conversation/", endpoint(ctx, Access::kAgent, errors, parse_list_support_conversations,
                                            list_conversations, render_conversations));
  // Issue 14: the conversation's events; the uuid is the capability, as for the poll.
  register_event_routes(
      router, ctx,
      {"/api/messages/{uuid}/events", Access::kOptional, &errors,
       [](const httplib::Request&, const PathParams& p) -> chat::Result<chat::ConversationKey> {
         return chat::ConversationKey::of_uuid(std::string(p.get("uuid")), chat::ConversationKind::kSupport);
       },
       {[](const chat::Message& m, const chat::Conversation& c) { return message_item(c.uuid, m); },
        [](const chat::Conversation& c) { return conversation_item(c); },
        /*typing_user_id=*/false},
       /*tickets=*/true});
}

}  // namespace chatd
