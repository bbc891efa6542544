#include "service/conversations.hpp"

#include <string>
#include <utility>

#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

namespace {

bool needs_subject(ConversationKind k) { return k == ConversationKind::kCoach || k == ConversationKind::kQuote; }

// The store's bare uniqueness conflict, named after what the caller chose.
Error creation_conflict(Error e, const NewConversation& c, bool uuid_given) {
  if (e.code != ErrorCode::kConflict || !e.field.empty()) return e;
  if (!c.handle.empty() && uuid_given) return Error::conflict("a conversation with this handle or uuid already exists");
  if (!c.handle.empty()) return Error::conflict("handle", "a conversation with this handle already exists");
  if (uuid_given) return Error::conflict("uuid", "a conversation with this uuid already exists");
  return e;
}

}  // namespace

Status Conversations::validate_new(const Principal& who, NewConversation& c, Timestamp now) {
  if (needs_subject(c.kind) && !is_authenticated(who))
    return Error::unauthenticated("coach and quote conversations need an authenticated caller");
  if (who.is_admin()) {
    if (c.user_id.empty()) c.user_id = who.user_id;
  } else {
    c.user_id = is_authenticated(who) ? who.user_id : std::string();
  }
  if (!c.uuid.empty()) {
    if (!is_uuid(c.uuid)) return Error::invalid("uuid", "uuid must be a canonical UUID");
    c.uuid = ascii_lower(c.uuid);
  }
  if (!c.handle.empty() && !is_valid_handle(c.handle))
    return Error::invalid("handle", "handle must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
  CHAT_RETURN_IF_ERROR(check_required_text("type", c.type, kMaxTagBytes));
  CHAT_RETURN_IF_ERROR(check_required_text("status", c.status, kMaxTagBytes));
  CHAT_RETURN_IF_ERROR(check_text("user_id", c.user_id, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("external_user_id", c.external_user_id, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("name", c.name, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("email", c.email, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("subject", c.subject, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("title", c.title, kMaxTitleBytes));
  CHAT_RETURN_IF_ERROR(check_text("initial_context", c.initial_context, core_.options.max_context_bytes));
  CHAT_ASSIGN_OR_RETURN(c.metadata, normalize_json_object(c.metadata, "metadata", core_.options.max_metadata_bytes));
  if (c.expires_at && *c.expires_at <= now) return Error::invalid("expires_at", "expires_at must be in the future");
  if (c.agent_id) CHAT_RETURN_IF_ERROR(registries_.check_agent_exists(*c.agent_id));
  if (!c.subject.empty() && needs_subject(c.kind)) {
    auto s = core_.store->get_subject(c.subject);
    if (!s) return not_found_as(std::move(s).error(), Error::not_found("subject", "subject " + c.subject + " not found"));
  }
  return {};
}

Result<NewConversation> Conversations::prepare(const Principal& who, NewConversation c, Timestamp now) {
  CHAT_RETURN_IF_ERROR(validate_new(who, c, now));
  if (c.kind == ConversationKind::kSession) {
    if (c.handle.empty()) c.handle = generate_session_handle();
    if (!c.expires_at) c.expires_at = now + core_.options.session_ttl;
  }
  if (c.uuid.empty()) c.uuid = generate_uuid_v4();
  return c;
}

Result<Conversation> Conversations::create(const Principal& who, NewConversation in) {
  const Timestamp now = core_.now();
  const bool uuid_given = !in.uuid.empty();
  CHAT_ASSIGN_OR_RETURN(const NewConversation c, prepare(who, std::move(in), now));
  auto created = core_.store->create_conversation(c, now);
  if (!created) return creation_conflict(std::move(created).error(), c, uuid_given);
  core_.publish(created->id, "conversation.created");
  return created;
}

Result<Conversation> Conversations::get(const Principal& who, const ConversationKey& key) {
  return keys_.conversation(who, key);
}

Result<Page<Conversation>> Conversations::list(const Principal& who, ConversationQuery q) {
  CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, core_.options.max_page));
  CHAT_RETURN_IF_ERROR(check_non_negative("since_id", q.since_id));
  CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
  if (q.include_deleted && !who.is_admin())
    return Error::permission_denied("only admins may list deleted conversations");
  if (who.is_anonymous() && !core_.options.anonymous_listing) {
    return Error::unauthenticated(q.kind == ConversationKind::kSession
                                      ? "listing sessions needs an agent or admin token"
                                      : "listing conversations needs a token");
  }
  q.user_id = owner_scope(who, q.kind, std::move(q.user_id));
  q.budget = core_.page_budget();
  return core_.store->list_conversations(q);
}

Result<Conversation> Conversations::update(const Principal& who, const ConversationKey& key, ConversationPatch patch) {
  if (patch.title) CHAT_RETURN_IF_ERROR(check_text("title", *patch.title, kMaxTitleBytes));
  if (patch.status) CHAT_RETURN_IF_ERROR(check_required_text("status", *patch.status, kMaxTagBytes));
  if (patch.initial_context)
    CHAT_RETURN_IF_ERROR(check_text("initial_context", *patch.initial_context, core_.options.max_context_bytes));
  if (patch.metadata) {
    CHAT_ASSIGN_OR_RETURN(patch.metadata,
                          normalize_json_object(*patch.metadata, "metadata", core_.options.max_metadata_bytes));
  }
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  if (patch.agent_id) CHAT_RETURN_IF_ERROR(registries_.check_agent_exists(*patch.agent_id));
  auto updated = core_.store->update_conversation(c.id, patch, core_.now());
  if (!updated) return not_found_as(std::move(updated).error(), conversation_not_found(key.kind));
  core_.publish(c.id, "conversation.updated");
  return updated;
}

Status Conversations::remove(const Principal& who, const ConversationKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  CHAT_RETURN_IF_ERROR(core_.store->soft_delete_conversation(c.id, core_.audit(who)));
  core_.publish(c.id, "conversation.deleted");
  return {};
}

Result<Conversation> Conversations::restore(const Principal& who, const ConversationKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key, /*include_deleted=*/true));
  if (!c.deleted_at) return c;  // restoring a live row is a no-op, not an error
  auto restored = core_.store->restore_conversation(c.id, core_.audit(who));
  if (!restored) return not_found_as(std::move(restored).error(), conversation_not_found(key.kind));
  core_.publish(c.id, "conversation.restored");
  return restored;
}

Result<std::int64_t> Conversations::clear(const Principal& who, const ConversationKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  auto n = core_.store->clear_conversation(c.id, core_.audit(who));
  if (!n) return not_found_as(std::move(n).error(), conversation_not_found(key.kind));
  core_.publish(c.id, "conversation.cleared");
  return n;
}

Result<Conversation> Conversations::mark_read(const Principal& who, const ConversationKey& key,
                                              std::int64_t last_read_message_id) {
  CHAT_RETURN_IF_ERROR(check_non_negative("last_read_message_id", last_read_message_id));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  // The unread count is the owner's: an agent reading a customer's
  // conversation must not clear it.
  if (!who.is_admin() && !c.user_id.empty() && c.user_id != who.user_id)
    return Error::permission_denied("only the owner marks a conversation read");
  std::int64_t up_to = last_read_message_id;
  if (up_to == 0) {
    CHAT_ASSIGN_OR_RETURN(up_to, core_.store->last_message_id());
  }
  auto updated = core_.store->mark_read(c.id, up_to, core_.now());
  if (!updated) return not_found_as(std::move(updated).error(), conversation_not_found(key.kind));
  core_.publish(c.id, "conversation.read");
  return updated;
}

Result<std::int64_t> Conversations::purge(const Principal& who) {
  CHAT_RETURN_IF_ERROR(require_admin(who));
  const Timestamp now = core_.now();
  return core_.store->purge(now - core_.options.retention, AuditContext{who.user_id, now});
}

}  // namespace chat::detail
