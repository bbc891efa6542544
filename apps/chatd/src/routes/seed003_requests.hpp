// routes/seed003_requests.hpp: the requests of seed 003 (conversations, AI
// replies, analytics, search; docs/seed-003.md), one struct and one pure parse
// function per route. A path {id} that is not a positive integer names no
// conversation: kNotFound "conversation not found" (404), checked first.
#pragma once

#include <cstdint>
#include <string>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"
#include "routes/shapes.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// Pages of seed 003: limit 1..100, offset 0..2^31-1.
inline constexpr std::int64_t kSeed003MaxOffset = 2147483647;

// GET /chat/conversations?limit (default 20)&offset
struct ListSupportChatsRequest {
  chat::ConversationQuery query;
  PageParams page;
};
chat::Result<ListSupportChatsRequest> parse_list_support_chats(const httplib::Request& req, const PathParams& p);

// POST /chat/conversations {"title", "agent_id"?: int, "conversation_type"?}
struct CreateSupportChatRequest {
  chat::NewConversation conversation;
};
chat::Result<CreateSupportChatRequest> parse_create_support_chat(const httplib::Request& req, const PathParams& p);

// GET and DELETE /chat/conversations/{id}
struct SupportChatRequest {
  chat::ConversationKey key;
};
chat::Result<SupportChatRequest> parse_support_chat(const httplib::Request& req, const PathParams& p);

// GET /chat/conversations/{id}/sessions?limit (default 100)&offset: activity periods, oldest first
struct ListActivityRequest {
  chat::ConversationKey key;
  PageParams page;
};
chat::Result<ListActivityRequest> parse_list_activity(const httplib::Request& req, const PathParams& p);

// PUT /chat/conversations/{id} {"title"?, "is_pinned"?, "is_archived"?, "status"?, "agent_id"?}
struct UpdateSupportChatRequest {
  chat::ConversationKey key;
  chat::ConversationPatch patch;
};
chat::Result<UpdateSupportChatRequest> parse_update_support_chat(const httplib::Request& req, const PathParams& p);

// GET /chat/conversations/{id}/messages?limit (default 50)&offset
struct ListSupportChatMessagesRequest {
  chat::ConversationKey key;
  PageParams page;
};
chat::Result<ListSupportChatMessagesRequest> parse_list_support_chat_messages(const httplib::Request& req,
                                                                              const PathParams& p);

// POST /chat/conversations/{id}/messages {"content", "sender_type"?: "user" (default) | "agent"}
enum class Sender { kUser, kAgent };
struct AddSupportChatMessageRequest {
  chat::ConversationKey key;
  std::string content;
  Sender sender = Sender::kUser;
};
chat::Result<AddSupportChatMessageRequest> parse_add_support_chat_message(const httplib::Request& req,
                                                                          const PathParams& p);

// POST /chat/conversations/{id}/ai-response {"message"?, "agent_id"?, "include_context"?: true}
// (an empty body is an empty object; a blank message counts as none)
struct AiResponseRequest {
  chat::ConversationKey key;
  chat::ReplyRequest reply;
};
chat::Result<AiResponseRequest> parse_ai_response(const httplib::Request& req, const PathParams& p);

// POST /chat/conversations/{id}/read {"up_to"?: message id >= 0} (0 or absent: everything)
struct MarkReadRequest {
  chat::ConversationKey key;
  std::int64_t up_to = 0;
};
chat::Result<MarkReadRequest> parse_mark_read(const httplib::Request& req, const PathParams& p);

// GET /chat/analytics/dashboard?days=1..366 (default 7)
chat::Result<chat::DashboardQuery> parse_dashboard(const httplib::Request& req, const PathParams& p);

// GET /chat/search?query (required, not blank)&limit (default 20)&offset
struct SearchSupportRequest {
  chat::SearchQuery query;
  PageParams page;
};
chat::Result<SearchSupportRequest> parse_search_support(const httplib::Request& req, const PathParams& p);

}  // namespace chatd
