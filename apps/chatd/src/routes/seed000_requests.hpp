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

// DELETE /api/jobs/{job_id}/quote-chat/
struct QuoteChatRequest {
  std::string job_id;
  chat::ConversationKey key;  // the job's quote chat (created on first use)
};
chat::Result<QuoteChatRequest> parse_quote_chat(const httplib::Request& req, const PathParams& p);

// GET /api/jobs/{job_id}/quote-chat/?limit&offset: the history, chronological.
// limit 1..max_page, default max_page (1000: the front end shows an ordinary
// quote chat whole in one answer); offset >= 0 reaches the next page (a page
// shorter than limit is the last).
struct QuoteHistoryRequest {
  std::string job_id;
  chat::ConversationKey key;
  chat::MessageQuery query;
};
chat::Result<QuoteHistoryRequest> parse_quote_history(const httplib::Request& req, const PathParams& p,
                                                      const chat::ServiceLimits& limits);

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
