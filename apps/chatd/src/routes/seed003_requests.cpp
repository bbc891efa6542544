#include "routes/seed003_requests.hpp"

#include <httplib.h>

#include "chat/text.hpp"
#include "http_json.hpp"

namespace chatd {

namespace {

constexpr PageSpec kConversationPage{20, 100, kSeed003MaxOffset};
constexpr PageSpec kMessagePage{50, 100, kSeed003MaxOffset};
constexpr PageSpec kSearchPage{20, 100, kSeed003MaxOffset};
constexpr PageSpec kActivityPage{100, 100, kSeed003MaxOffset};

// The path's {id}: a positive integer, else no conversation at all (404).
chat::Result<chat::ConversationKey> path_key(const PathParams& p) {
  auto id = parse_int64(p.get("id"));
  if (!id || *id <= 0) return chat::Error::not_found("conversation not found");
  // Integer ids are guessable: libchat hides ownerless chats from plain users on them (chat/keys.hpp).
  return chat::ConversationKey::of_id(*id, chat::ConversationKind::kSupport);
}

}  // namespace

chat::Result<ListActivityRequest> parse_list_activity(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, kActivityPage));
  return ListActivityRequest{std::move(key), page};
}

chat::Result<ListSupportChatsRequest> parse_list_support_chats(const httplib::Request& req, const PathParams&) {
  ListSupportChatsRequest out;
  CHAT_ASSIGN_OR_RETURN(out.page, parse_page(req, kConversationPage));
  auto& q = out.query;
  q.kind = chat::ConversationKind::kSupport;
  q.order = chat::ConversationOrder::kRecentActivity;
  q.limit = out.page.limit;
  q.offset = out.page.offset;
  return out;
}

chat::Result<CreateSupportChatRequest> parse_create_support_chat(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CreateSupportChatRequest out;
  auto& c = out.conversation;
  c.kind = chat::ConversationKind::kSupport;
  CHAT_ASSIGN_OR_RETURN(c.title, required_nonempty_string(body, "title"));
  CHAT_ASSIGN_OR_RETURN(c.agent_id, optional_int64(body, "agent_id"));
  CHAT_ASSIGN_OR_RETURN(auto type, optional_string(body, "conversation_type"));
  if (type) c.type = std::move(*type);
  return out;
}

chat::Result<SupportChatRequest> parse_support_chat(const httplib::Request&, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  return SupportChatRequest{std::move(key)};
}

chat::Result<UpdateSupportChatRequest> parse_update_support_chat(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  UpdateSupportChatRequest out{std::move(key), {}};
  auto& patch = out.patch;
  CHAT_ASSIGN_OR_RETURN(auto title, optional_string(body, "title"));
  if (title) {
    if (chat::is_blank(*title)) return chat::Error::invalid("title", "title: must not be empty");
    patch.title = std::move(*title);
  }
  CHAT_ASSIGN_OR_RETURN(patch.is_pinned, optional_bool(body, "is_pinned"));
  CHAT_ASSIGN_OR_RETURN(patch.is_archived, optional_bool(body, "is_archived"));
  CHAT_ASSIGN_OR_RETURN(auto status, optional_string(body, "status"));
  if (status) {
    if (chat::is_blank(*status)) return chat::Error::invalid("status", "status: must not be empty");
    patch.status = std::move(*status);
  }
  CHAT_ASSIGN_OR_RETURN(patch.agent_id, optional_int64(body, "agent_id"));
  return out;
}

chat::Result<ListSupportChatMessagesRequest> parse_list_support_chat_messages(const httplib::Request& req,
                                                                              const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, kMessagePage));
  return ListSupportChatMessagesRequest{std::move(key), page};
}

chat::Result<AddSupportChatMessageRequest> parse_add_support_chat_message(const httplib::Request& req,
                                                                          const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  AddSupportChatMessageRequest out{std::move(key), {}, Sender::kUser};
  CHAT_ASSIGN_OR_RETURN(out.content, required_nonempty_string(body, "content"));
  CHAT_ASSIGN_OR_RETURN(auto sender, optional_string(body, "sender_type"));
  const std::string s = sender.value_or("user");
  if (s == "user") {
    out.sender = Sender::kUser;
  } else if (s == "agent") {
    out.sender = Sender::kAgent;
  } else {
    return chat::Error::invalid("sender_type", "sender_type: must be \"user\" or \"agent\"");
  }
  return out;
}

chat::Result<AiResponseRequest> parse_ai_response(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req, EmptyBody::kAsEmptyObject));
  AiResponseRequest out{std::move(key), {}};
  auto& r = out.reply;
  CHAT_ASSIGN_OR_RETURN(auto message, optional_string(body, "message"));
  CHAT_ASSIGN_OR_RETURN(r.agent_id, optional_int64(body, "agent_id"));
  CHAT_ASSIGN_OR_RETURN(auto include, optional_bool(body, "include_context"));
  r.content = message.value_or("");
  if (chat::is_blank(r.content)) r.content.clear();
  r.include_context = include.value_or(true);
  r.reuse_latest_user_message = true;
  return out;
}

chat::Result<MarkReadRequest> parse_mark_read(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto key, path_key(p));
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req, EmptyBody::kAsEmptyObject));
  CHAT_ASSIGN_OR_RETURN(auto up_to, optional_int64(body, "up_to"));
  if (up_to && *up_to < 0) return chat::Error::invalid("up_to", "up_to: must not be negative");
  return MarkReadRequest{std::move(key), up_to.value_or(0)};
}

chat::Result<chat::DashboardQuery> parse_dashboard(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto days, query_int64(req, "days", 7, 1, 366));
  return chat::DashboardQuery{days};
}

chat::Result<SearchSupportRequest> parse_search_support(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto text, query_filter_text(req, "query"));
  if (!text || chat::is_blank(*text)) return chat::Error::invalid("query", "query: required");
  SearchSupportRequest out;
  CHAT_ASSIGN_OR_RETURN(out.page, parse_page(req, kSearchPage));
  auto& q = out.query;
  q.text = std::move(*text);
  q.kind = chat::ConversationKind::kSupport;
  q.limit = out.page.limit;
  q.offset = out.page.offset;
  return out;
}

}  // namespace chatd
