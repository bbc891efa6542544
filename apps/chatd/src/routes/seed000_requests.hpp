// routes/seed000_requests.hpp: the requests of seed 000 (job quote chat,
// /api/jobs/{job_id}/quote-chat/), one struct and one pure parse function per
// route. Errors are the library's (kInvalidArgument naming the field); the
// route's ErrorStyle words them for the seed.
#pragma once

#include <string>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// GET and DELETE /api/jobs/{job_id}/quote-chat/
struct QuoteChatRequest {
  std::string job_id;
  chat::ConversationKey key;  // the job's quote chat (created on first use)
};
chat::Result<QuoteChatRequest> parse_quote_chat(const httplib::Request& req, const PathParams& p);

// POST /api/jobs/{job_id}/quote-chat/ {"message_id", "role": user|assistant, "content", "metadata"?: {}}
struct PostQuoteMessageRequest {
  chat::ConversationKey key;
  chat::NewMessage message;  // client_id = message_id
};
chat::Result<PostQuoteMessageRequest> parse_post_quote_message(const httplib::Request& req, const PathParams& p);

// PATCH /api/jobs/{job_id}/quote-chat/{message_id}/ {"content"?, "metadata"?: {}}
struct PatchQuoteMessageRequest {
  chat::MessageKey key;
  chat::MessagePatch patch;
};
chat::Result<PatchQuoteMessageRequest> parse_patch_quote_message(const httplib::Request& req, const PathParams& p);

}  // namespace chatd
