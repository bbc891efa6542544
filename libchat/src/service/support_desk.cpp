#include "service/support_desk.hpp"

#include <utility>

#include "chat/uuid.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

Result<Conversation> SupportDesk::conversation_for(const Principal& who, SupportPost& p, bool& created) {
  created = false;
  if (is_uuid(p.conversation)) {
    auto c = keys_.conversation(who, ConversationKey::of_uuid(p.conversation, ConversationKind::kSupport));
    if (c || c.error().code != ErrorCode::kNotFound) return c;
  }
  if (is_staff(who)) return Error::not_found("conversation", "conversation not found");
  NewConversation nc;
  nc.kind = ConversationKind::kSupport;
  nc.name = std::move(p.name);
  nc.email = std::move(p.email);
  CHAT_ASSIGN_OR_RETURN(auto c, conversations_.create(who, std::move(nc)));
  created = true;
  return c;
}

Result<SupportPostResult> SupportDesk::post(const Principal& who, SupportPost p) {
  NewMessage m;
  m.role = is_staff(who) ? Role::kAgent : Role::kUser;
  m.content = std::move(p.content);
  CHAT_RETURN_IF_ERROR(messages_.validate_new(m));
  if (p.after_id) CHAT_RETURN_IF_ERROR(check_non_negative("after_id", *p.after_id));
  CHAT_RETURN_IF_ERROR(check_text("name", p.name, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("email", p.email, kMaxNameBytes));

  SupportPostResult out;
  CHAT_ASSIGN_OR_RETURN(auto conv, conversation_for(who, p, out.created_conversation));
  CHAT_RETURN_IF_ERROR(check_writable(conv, core_.now()));
  auto stored = core_.store->append_message(conv.id, m, core_.now());
  if (!stored) return not_found_as(std::move(stored).error(), conversation_not_found(conv.kind));
  core_.hub.publish(conv.id, "message.created", stored->message.id);
  out.message = std::move(stored->message);

  MessageQuery q;
  q.after_id = p.after_id.value_or(0);
  q.limit = core_.options.max_page;
  CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_messages(conv.id, q));
  out.messages = std::move(page.items);
  auto fresh = core_.store->get_conversation(conv.id);
  out.conversation = fresh ? std::move(*fresh) : std::move(conv);
  return out;
}

}  // namespace chat::detail
