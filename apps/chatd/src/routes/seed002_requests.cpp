#include "routes/seed002_requests.hpp"

#include <httplib.h>

#include <limits>

#include "http_json.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

}  // namespace

chat::Result<PostSupportMessageRequest> parse_post_support_message(const httplib::Request& req, const PathParams&) {
  PostSupportMessageRequest out;
  auto& post = out.post;
  CHAT_ASSIGN_OR_RETURN(post.after_id, query_int64(req, "since", 0, kMaxId));
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CHAT_ASSIGN_OR_RETURN(auto conversation, optional_string(body, "conversation"));
  CHAT_ASSIGN_OR_RETURN(auto name, optional_string(body, "name"));
  CHAT_ASSIGN_OR_RETURN(auto email, optional_string(body, "email"));
  CHAT_ASSIGN_OR_RETURN(post.content, required_nonempty_string(body, "content"));
  post.conversation = conversation.value_or("");
  post.name = name.value_or("");
  post.email = email.value_or("");
  return out;
}

chat::Result<PollMessagesRequest> parse_poll_messages(const httplib::Request& req, const PathParams& p) {
  PollMessagesRequest out;
  CHAT_ASSIGN_OR_RETURN(out.since, query_int64(req, "since", 0, 0, kMaxId));
  CHAT_ASSIGN_OR_RETURN(out.wait_seconds, query_int64(req, "wait", 0, 0, std::numeric_limits<std::int32_t>::max()));
  out.uuid = std::string(p.get("uuid"));
  out.key = chat::ConversationKey::of_uuid(out.uuid, chat::ConversationKind::kSupport);
  return out;
}

chat::Result<ListSupportConversationsRequest> parse_list_support_conversations(const httplib::Request& req,
                                                                               const PathParams&,
                                                                               const chat::ServiceLimits& limits) {
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {100, limits.max_page}));
  ListSupportConversationsRequest out;
  auto& q = out.query;
  q.kind = chat::ConversationKind::kSupport;
  q.order = chat::ConversationOrder::kRecentActivity;
  q.limit = page.limit;
  q.offset = page.offset;
  return out;
}

}  // namespace chatd
