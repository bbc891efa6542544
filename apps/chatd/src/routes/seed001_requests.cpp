#include "routes/seed001_requests.hpp"

#include <httplib.h>

#include "http_json.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

constexpr auto kSession = chat::ConversationKind::kSession;

chat::ConversationKey session_key(std::string id) { return chat::ConversationKey::of_any(std::move(id), kSession); }

// role: user, assistant or system (seed 001's three), 400 naming the field otherwise.
chat::Result<chat::Role> parse_seed_role(const std::string& text) {
  auto r = chat::parse_role(text);
  if (!r || *r == chat::Role::kAgent) return chat::Error::invalid("role", "role: must be user, assistant or system");
  return *r;
}

chat::Result<std::optional<chat::Role>> optional_role(const std::optional<std::string>& text) {
  if (!text) return std::optional<chat::Role>{};
  CHAT_ASSIGN_OR_RETURN(auto role, parse_seed_role(*text));
  return std::optional<chat::Role>(role);
}

}  // namespace

chat::Result<CreateSessionRequest> parse_create_session(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req, EmptyBody::kAsEmptyObject));
  CreateSessionRequest out;
  auto& c = out.session;
  c.kind = kSession;
  CHAT_ASSIGN_OR_RETURN(auto session_id, optional_string(body, "session_id"));
  if (session_id) c.handle = std::move(*session_id);
  CHAT_ASSIGN_OR_RETURN(auto external, optional_string(body, "external_user_id"));
  if (external) c.external_user_id = std::move(*external);
  CHAT_ASSIGN_OR_RETURN(auto metadata, optional_object(body, "metadata"));
  if (metadata) c.metadata = std::move(*metadata);
  CHAT_ASSIGN_OR_RETURN(auto expires, optional_string(body, "expires_at"));
  if (expires) {
    auto t = chat::parse_timestamp(*expires);
    if (!t) return chat::Error::invalid("expires_at", "expires_at: not an ISO 8601 time");
    c.expires_at = *t;
  }
  return out;
}

chat::Result<ListSessionsRequest> parse_list_sessions(const httplib::Request& req, const PathParams&,
                                                      const chat::ServiceLimits& limits) {
  ListSessionsRequest out;
  auto& q = out.query;
  q.kind = kSession;
  CHAT_ASSIGN_OR_RETURN(q.is_active, query_bool(req, "is_active"));
  CHAT_ASSIGN_OR_RETURN(q.external_user_id, query_string(req, "external_user_id"));
  CHAT_ASSIGN_OR_RETURN(auto search, query_filter_text(req, "search"));
  if (search) q.search = std::move(*search);
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {kDefaultSessionPage, limits.max_page}));
  q.limit = page.limit;
  q.offset = page.offset;
  return out;
}

chat::Result<SessionRequest> parse_session(const httplib::Request&, const PathParams& p) {
  return SessionRequest{session_key(std::string(p.get("id")))};
}

chat::Result<ListSessionMessagesRequest> parse_list_session_messages(const httplib::Request& req,
                                                                     const PathParams&,
                                                                     const chat::ServiceLimits& limits) {
  CHAT_ASSIGN_OR_RETURN(auto session_id, query_string(req, "session_id"));
  if (!session_id) return chat::Error::invalid("session_id", "session_id: required query parameter");
  ListSessionMessagesRequest out{session_key(std::move(*session_id)), {}};
  auto& q = out.query;
  CHAT_ASSIGN_OR_RETURN(auto role, query_string(req, "role"));
  CHAT_ASSIGN_OR_RETURN(q.role, optional_role(role));
  CHAT_ASSIGN_OR_RETURN(auto search, query_filter_text(req, "search"));
  if (search) q.search = std::move(*search);
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {limits.max_page, limits.max_page}));
  q.limit = page.limit;
  q.offset = page.offset;
  return out;
}

chat::Result<PostSessionMessageRequest> parse_post_session_message(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CHAT_ASSIGN_OR_RETURN(auto session_id, required_nonempty_string(body, "session_id"));
  PostSessionMessageRequest out{session_key(std::move(session_id)), {}};
  auto& m = out.message;
  CHAT_ASSIGN_OR_RETURN(m.content, required_nonempty_string(body, "message"));
  CHAT_ASSIGN_OR_RETURN(auto role_text, optional_string(body, "role"));
  CHAT_ASSIGN_OR_RETURN(auto role, optional_role(role_text));
  if (role) m.role = *role;
  CHAT_ASSIGN_OR_RETURN(auto metadata, optional_object(body, "metadata"));
  if (metadata) m.metadata = std::move(*metadata);
  return out;
}

chat::Result<SessionMessageRequest> parse_session_message(const httplib::Request&, const PathParams& p) {
  return SessionMessageRequest{chat::MessageKey::of_uuid(std::string(p.get("id")), kSession)};
}

chat::Result<SessionChatRequest> parse_session_chat(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CHAT_ASSIGN_OR_RETURN(auto session_id, required_nonempty_string(body, "session_id"));
  SessionChatRequest out{session_key(std::move(session_id)), {}};
  CHAT_ASSIGN_OR_RETURN(out.reply.content, required_nonempty_string(body, "message"));
  return out;
}

}  // namespace chatd
