#include "store/new_rows.hpp"

#include <utility>

#include "chat/token_counter.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"

namespace chat::detail {

Result<std::string> normalize_metadata(const std::string& text) {
  if (text.empty() || text == "{}") return std::string("{}");
  return normalize_json_object(text, "metadata", kMaxMetadataBytes);
}

Status check_token_count(const std::optional<TokenCount>& t) {
  if (!t) return {};
  if (t->tokens < 0) return Error::invalid("content_tokens", "a token count must not be negative");
  if (t->counter.empty() || t->counter.size() > kMaxCounterIdBytes)
    return Error::invalid("content_tokens", "a token count needs the id of its counter (1 to 32 bytes)");
  return {};
}

Result<Conversation> new_conversation_row(const NewConversation& in, Timestamp now) {
  CHAT_ASSIGN_OR_RETURN(auto meta, normalize_json_object(in.metadata, "metadata", kMaxMetadataBytes));
  if (!in.uuid.empty() && !is_uuid(in.uuid)) return Error::invalid("uuid", "uuid is not a valid UUID");
  Conversation c;
  c.uuid = in.uuid.empty() ? generate_uuid_v4() : in.uuid;
  c.handle = in.handle;
  c.kind = in.kind;
  c.type = in.type.empty() ? "chat" : in.type;
  c.user_id = in.user_id;
  c.external_user_id = in.external_user_id;
  c.name = in.name;
  c.email = in.email;
  c.agent_id = in.agent_id;
  c.subject = in.subject;
  c.title = in.title;
  c.status = in.status.empty() ? "active" : in.status;
  c.is_archived = in.is_archived;
  c.is_pinned = in.is_pinned;
  c.is_active = true;
  c.expires_at = in.expires_at;
  c.metadata = std::move(meta);
  c.initial_context = in.initial_context;
  c.created_at = now;
  c.updated_at = now;
  return c;
}

Result<Message> new_message_row(std::int64_t conversation_id, const NewMessage& m, Timestamp now) {
  CHAT_ASSIGN_OR_RETURN(auto meta, normalize_metadata(m.metadata));
  if (!m.uuid.empty() && !is_uuid(m.uuid)) return Error::invalid("uuid", "uuid is not a valid UUID");
  if (m.tokens_used && *m.tokens_used < 0) return Error::invalid("tokens_used", "tokens_used must not be negative");
  CHAT_RETURN_IF_ERROR(check_token_count(m.content_tokens));
  Message msg;
  msg.uuid = m.uuid.empty() ? generate_uuid_v4() : m.uuid;
  msg.conversation_id = conversation_id;
  msg.client_id = m.client_id;
  msg.role = m.role;
  msg.content = m.content;
  msg.content_type = m.content_type.empty() ? "text" : m.content_type;
  msg.message_type = m.message_type.empty() ? "text" : m.message_type;
  msg.status = m.status;
  msg.metadata = std::move(meta);
  msg.tokens_used = m.tokens_used;
  msg.processing_time = m.processing_time;
  msg.cost = m.cost;
  msg.created_at = now;
  msg.updated_at = now;
  return msg;
}

}  // namespace chat::detail
