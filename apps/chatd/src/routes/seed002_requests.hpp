// routes/seed002_requests.hpp: the requests of seed 002 (customer chat with
// polling, docs/seed-002.md), one struct and one pure parse function per route.
#pragma once

#include <cstdint>
#include <string>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// POST /api/messages/[?since=N] {"conversation"?, "name"?, "email"?, "content"}
struct PostSupportMessageRequest {
  chat::SupportPost post;
};
chat::Result<PostSupportMessageRequest> parse_post_support_message(const httplib::Request& req, const PathParams& p);

// GET /api/messages/{uuid}/[?since=N][&wait=S]: wait 0 reads now; wait > 0 long-polls.
struct PollMessagesRequest {
  std::string uuid;  // as in the path
  chat::ConversationKey key;
  std::int64_t since = 0;
  std::int64_t wait_seconds = 0;
};
chat::Result<PollMessagesRequest> parse_poll_messages(const httplib::Request& req, const PathParams& p);

// GET /api/conversation/[?limit&offset] (limit 1..ServiceLimits::max_page, default 100)
struct ListSupportConversationsRequest {
  chat::ConversationQuery query;
};
chat::Result<ListSupportConversationsRequest> parse_list_support_conversations(const httplib::Request& req,
                                                                               const PathParams& p,
                                                                               const chat::ServiceLimits& limits);

}  // namespace chatd
