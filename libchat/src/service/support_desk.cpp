#include "service/support_desk.hpp"

#include <optional>
#include <utility>

#include "chat/uuid.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

Result<std::optional<Conversation>> SupportDesk::named_conversation(const Principal& who, const SupportPost& p) {
  if (is_uuid(p.conversation)) {
    auto c = keys_.conversation(who, ConversationKey::of_uuid(p.conversation, ConversationKind::kSupport));
    if (c) return std::optional<Conversation>(std::move(*c));
    if (c.error().code != ErrorCode::kNotFound) return std::move(c).error();
  }
  return std::optional<Conversation>();
}

Result<SupportPostResult> SupportDesk::post(const Principal& who, SupportPost p) {
  NewMessage m;
  m.role = is_staff(who) ? Role::kAgent : Role::kUser;
  m.content = std::move(p.content);
  CHAT_RETURN_IF_ERROR(messages_.validate_new(m));
  m.content_tokens = core_.context_tokens(m.role, m.status, m.content);
  if (p.after_id) CHAT_RETURN_IF_ERROR(check_non_negative("after_id", *p.after_id));
  CHAT_RETURN_IF_ERROR(check_text("name", p.name, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("email", p.email, kMaxNameBytes));

  SupportPostResult out;
  CHAT_ASSIGN_OR_RETURN(auto named, named_conversation(who, p));
  Conversation conv;
  if (named) {
    conv = std::move(*named);
    // Writability is judged by the writer, on the row as it commits.
    auto stored = core_.store->append_message(conv.id, m, core_.now(),
                                              [&](const Conversation& c) { return check_writable(c, core_.now()); });
    if (!stored) return not_found_as(std::move(stored).error(), conversation_not_found(conv.kind));
    core_.publish(conv.id, "message.created", stored->message.id);
    out.message = std::move(stored->message);
  } else {
    if (is_staff(who)) return Error::not_found("conversation", "conversation not found");
    NewConversation nc;
    nc.kind = ConversationKind::kSupport;
    nc.name = std::move(p.name);
    nc.email = std::move(p.email);
    const Timestamp now = core_.now();
    CHAT_ASSIGN_OR_RETURN(nc, conversations_.prepare(who, std::move(nc), now));
    if (p.admit_new_conversation) CHAT_RETURN_IF_ERROR(p.admit_new_conversation());
    // The conversation and its first message commit together: a failed
    // message leaves no empty conversation behind.
    CHAT_ASSIGN_OR_RETURN(auto created, core_.store->create_conversation_with_message(nc, m, now));
    conv = std::move(created.conversation);
    out.created_conversation = true;
    core_.publish(conv.id, "conversation.created");
    core_.publish(conv.id, "message.created", created.message.id);
    out.message = std::move(created.message);
  }

  MessageQuery q;
  q.after_id = p.after_id.value_or(0);
  q.limit = core_.options.max_page;
  q.budget = core_.page_budget();  // as a poll: the caller asks again after the last id
  CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_messages(conv.id, q));
  out.messages = std::move(page.items);
  auto fresh = core_.store->get_conversation(conv.id);
  out.conversation = fresh ? std::move(*fresh) : std::move(conv);
  return out;
}

}  // namespace chat::detail
