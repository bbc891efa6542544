#include "service/quote_chats.hpp"

#include <string>

#include "chat/uuid.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

Result<Conversation> subject_conversation(ServiceCore& core, const Principal& who, const ConversationKey& key) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  if (!key.kind) return conversation_not_found(key.kind);
  const Error unknown_subject = Error::not_found("subject", "subject not found");
  if (key.text.empty() || key.text.size() > kMaxNameBytes) return unknown_subject;
  const std::string handle = std::string(to_string(*key.kind)) + "/" + key.text;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = core.store->find_conversation_by_handle(handle);
    if (found) {
      if (found->kind != *key.kind || found->subject != key.text) return conversation_not_found(key.kind);
      return found;
    }
    if (found.error().code != ErrorCode::kNotFound) return std::move(found).error();
    auto subject = core.store->get_subject(key.text);
    if (!subject) return not_found_as(std::move(subject).error(), unknown_subject);
    NewConversation nc;
    nc.kind = *key.kind;
    nc.uuid = generate_uuid_v4();
    nc.handle = handle;
    nc.subject = key.text;
    nc.title = subject->title;
    auto created = core.store->create_conversation(nc, core.now());
    if (created) {
      core.publish(created->id, "conversation.created");
      return created;
    }
    if (created.error().code != ErrorCode::kConflict) return std::move(created).error();
    // Lost the race to a concurrent first use (or the row is soft-deleted:
    // the second lookup then fails and so does this key).
  }
  return conversation_not_found(key.kind);
}

}  // namespace chat::detail
