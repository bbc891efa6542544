#include "service/key_lookup.hpp"

#include "service/access.hpp"
#include "service/quote_chats.hpp"
#include "service/service_validate.hpp"
#include "chat/uuid.hpp"

namespace chat::detail {

namespace {

// Whether a lookup answer is final (found, or failed for another reason than "no such row").
bool settled(const Result<Conversation>& r) { return r.ok() || r.error().code != ErrorCode::kNotFound; }

}  // namespace

Result<ResolvedConversation> KeyLookup::lookup(const ConversationKey& key, bool include_deleted) {
  Store& store = *core_.store;
  Result<Conversation> r = conversation_not_found(key.kind);
  bool by_integer_id = false;
  switch (key.by) {
    case ConversationKey::By::kId:
      if (key.id <= 0) return conversation_not_found(key.kind);
      r = store.get_conversation(key.id, include_deleted);
      by_integer_id = true;
      break;
    case ConversationKey::By::kUuid:
      if (!is_uuid(key.text)) return conversation_not_found(key.kind);
      r = store.find_conversation_by_uuid(ascii_lower(key.text), include_deleted);
      break;
    case ConversationKey::By::kHandle:
      if (key.text.empty()) return conversation_not_found(key.kind);
      r = store.find_conversation_by_handle(key.text, include_deleted);
      break;
    case ConversationKey::By::kAny: {
      const std::string& t = key.text;
      if (t.empty()) return conversation_not_found(key.kind);
      if (is_uuid(t)) r = store.find_conversation_by_uuid(ascii_lower(t), include_deleted);
      if (!settled(r)) r = store.find_conversation_by_handle(t, include_deleted);
      if (!settled(r)) {
        if (auto id = parse_positive_id(t)) {
          r = store.get_conversation(*id, include_deleted);
          by_integer_id = true;
        }
      }
      break;
    }
    case ConversationKey::By::kSubject:
      return conversation_not_found(key.kind);  // resolved by subject_conversation(), which needs the caller
  }
  if (!r) return not_found_as(std::move(r).error(), conversation_not_found(key.kind));
  return ResolvedConversation{std::move(*r), by_integer_id};
}

Result<ResolvedConversation> KeyLookup::resolve(const Principal& who, const ConversationKey& key,
                                                bool include_deleted) {
  if (key.by == ConversationKey::By::kSubject) {
    CHAT_ASSIGN_OR_RETURN(auto c, subject_conversation(core_, who, key));
    return ResolvedConversation{std::move(c), false};
  }
  CHAT_ASSIGN_OR_RETURN(auto found, lookup(key, include_deleted));
  if (!key_admits(who, key, found.conversation, found.by_integer_id)) return conversation_not_found(key.kind);
  return found;
}

Result<Conversation> KeyLookup::conversation(const Principal& who, const ConversationKey& key, bool include_deleted) {
  CHAT_ASSIGN_OR_RETURN(auto found, resolve(who, key, include_deleted));
  return std::move(found.conversation);
}

Result<std::pair<Message, Conversation>> KeyLookup::message(const Principal& who, const MessageKey& key,
                                                            bool include_deleted) {
  Store& store = *core_.store;
  Result<Message> m = message_not_found();
  switch (key.by) {
    case MessageKey::By::kId:
      if (key.id <= 0) return message_not_found();
      m = store.get_message(key.id, include_deleted);
      break;
    case MessageKey::By::kUuid:
      if (!is_uuid(key.text)) return message_not_found();
      m = store.find_message_by_uuid(ascii_lower(key.text), include_deleted);
      break;
    case MessageKey::By::kClientId: {
      if (key.text.empty()) return message_not_found();
      CHAT_ASSIGN_OR_RETURN(auto c, conversation(who, key.conversation));
      m = store.find_message_by_client_id(c.id, key.text);
      break;
    }
  }
  if (!m) return not_found_as(std::move(m).error(), message_not_found());
  auto c = store.get_conversation(m->conversation_id);
  if (!c) return not_found_as(std::move(c).error(), message_not_found());
  if (!can_see(who, *c)) return message_not_found();
  if (key.conversation.kind && c->kind != *key.conversation.kind) return message_not_found();
  return std::make_pair(std::move(*m), std::move(*c));
}

}  // namespace chat::detail
