#include "routes/seed000_requests.hpp"

#include <httplib.h>

#include "chat/text.hpp"
#include "http_json.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

chat::ConversationKey quote_chat(const PathParams& p) {
  return chat::ConversationKey::of_subject(std::string(p.get("job_id")), chat::ConversationKind::kQuote);
}

// role: the seed's two, "user" or "assistant".
chat::Result<chat::Role> parse_quote_role(const std::string& text) {
  auto r = chat::parse_role(text);
  if (!r || (*r != chat::Role::kUser && *r != chat::Role::kAssistant))
    return chat::Error::invalid("role", "role: must be user or assistant");
  return *r;
}

}  // namespace

chat::Result<QuoteChatRequest> parse_quote_chat(const httplib::Request&, const PathParams& p) {
  return QuoteChatRequest{std::string(p.get("job_id")), quote_chat(p)};
}

chat::Result<QuoteHistoryRequest> parse_quote_history(const httplib::Request& req, const PathParams& p,
                                                      const chat::ServiceLimits& limits) {
  QuoteHistoryRequest out{std::string(p.get("job_id")), quote_chat(p), {}};
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {limits.max_page, limits.max_page}));
  out.query.limit = page.limit;
  out.query.offset = page.offset;
  return out;
}

chat::Result<PostQuoteMessageRequest> parse_post_quote_message(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  PostQuoteMessageRequest out{quote_chat(p), {}};
  CHAT_ASSIGN_OR_RETURN(out.message.client_id, required_nonempty_string(body, "message_id"));
  CHAT_ASSIGN_OR_RETURN(auto role, required_string(body, "role"));
  CHAT_ASSIGN_OR_RETURN(out.message.role, parse_quote_role(role));
  CHAT_ASSIGN_OR_RETURN(out.message.content, required_nonempty_string(body, "content"));
  CHAT_ASSIGN_OR_RETURN(auto metadata, optional_object(body, "metadata"));
  if (metadata) out.message.metadata = std::move(*metadata);
  return out;
}

chat::Result<PatchQuoteMessageRequest> parse_patch_quote_message(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  PatchQuoteMessageRequest out{chat::MessageKey::of_client_id(quote_chat(p), std::string(p.get("message_id"))), {}};
  CHAT_ASSIGN_OR_RETURN(auto content, optional_string(body, "content"));
  if (content) {
    if (chat::is_blank(*content)) return chat::Error::invalid("content", "content: must not be empty");
    out.patch.content = std::move(*content);
  }
  CHAT_ASSIGN_OR_RETURN(out.patch.metadata, optional_object(body, "metadata"));
  // A patch that changes nothing is refused by libchat (ChatService::edit_message).
  return out;
}

}  // namespace chatd
