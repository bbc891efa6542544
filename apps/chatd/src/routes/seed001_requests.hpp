// routes/seed001_requests.hpp: the requests of seed 001 (public chat sessions
// under /api/chats/), one struct and one pure parse function per route.
// Every key is scoped to kind `session`, so these routes never reach another
// seed's threads. Errors name the seed's fields (session_id, message); the
// library's (handle, content) are renamed by the API's ErrorStyle.
#pragma once

#include <string>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// Listing pages: the seed returns bare arrays without pagination, so limit and
// offset are optional query parameters (limit at most the service's
// ServiceLimits::max_page). A session's history defaults to that largest page
// so that a front end gets the whole of any ordinary chat.
inline constexpr std::int64_t kDefaultSessionPage = 100;

// POST /api/chats/sessions/ {"session_id"?, "external_user_id"?, "metadata"?: {}, "expires_at"?: ISO 8601}
// (an empty body is an empty object; "" as session_id counts as absent: generated)
struct CreateSessionRequest {
  chat::NewConversation session;
};
chat::Result<CreateSessionRequest> parse_create_session(const httplib::Request& req, const PathParams& p);

// GET /api/chats/sessions/?is_active&external_user_id&search&limit&offset
struct ListSessionsRequest {
  chat::ConversationQuery query;
};
chat::Result<ListSessionsRequest> parse_list_sessions(const httplib::Request& req, const PathParams& p,
                                                      const chat::ServiceLimits& limits);

// GET and DELETE /api/chats/sessions/{id}/ (id: uuid or session_id)
struct SessionRequest {
  chat::ConversationKey key;
};
chat::Result<SessionRequest> parse_session(const httplib::Request& req, const PathParams& p);

// GET /api/chats/messages/?session_id (required)&role&search&limit&offset
struct ListSessionMessagesRequest {
  chat::ConversationKey key;
  chat::MessageQuery query;
};
chat::Result<ListSessionMessagesRequest> parse_list_session_messages(const httplib::Request& req,
                                                                     const PathParams& p,
                                                                     const chat::ServiceLimits& limits);

// POST /api/chats/messages/ {"session_id", "message", "role"?: user|assistant|system, "metadata"?: {}}
struct PostSessionMessageRequest {
  chat::ConversationKey key;
  chat::NewMessage message;
};
chat::Result<PostSessionMessageRequest> parse_post_session_message(const httplib::Request& req, const PathParams& p);

// GET and DELETE /api/chats/messages/{id}/ (id: the message's uuid)
struct SessionMessageRequest {
  chat::MessageKey key;
};
chat::Result<SessionMessageRequest> parse_session_message(const httplib::Request& req, const PathParams& p);

// POST /api/chats/messages/chat/ and .../chat/stream/ {"session_id", "message"}
struct SessionChatRequest {
  chat::ConversationKey key;
  chat::ReplyRequest reply;
};
chat::Result<SessionChatRequest> parse_session_chat(const httplib::Request& req, const PathParams& p);

}  // namespace chatd
