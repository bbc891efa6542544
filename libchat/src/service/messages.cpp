#include "service/messages.hpp"

#include <algorithm>
#include <utility>

#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

namespace {

Error client_id_conflict() { return Error::conflict("client_id", "client_id is already used by a different message"); }

bool patch_is_empty(const MessagePatch& p) {
  return !p.content && !p.metadata && !p.status && !p.tokens_used && !p.processing_time && !p.cost;
}

}  // namespace

Status Messages::validate_new(NewMessage& m) const {
  CHAT_RETURN_IF_ERROR(check_required_text("content", m.content, core_.options.max_content_bytes));
  CHAT_ASSIGN_OR_RETURN(m.metadata, normalize_json_object(m.metadata, "metadata", core_.options.max_metadata_bytes));
  CHAT_RETURN_IF_ERROR(check_text("client_id", m.client_id, kMaxClientIdBytes));
  if (!m.uuid.empty()) {
    if (!is_uuid(m.uuid)) return Error::invalid("uuid", "uuid must be a canonical UUID");
    m.uuid = ascii_lower(m.uuid);
  }
  CHAT_RETURN_IF_ERROR(check_required_text("content_type", m.content_type, kMaxTagBytes));
  CHAT_RETURN_IF_ERROR(check_required_text("message_type", m.message_type, kMaxTagBytes));
  if (m.tokens_used) CHAT_RETURN_IF_ERROR(check_non_negative("tokens_used", *m.tokens_used));
  if (m.processing_time) CHAT_RETURN_IF_ERROR(check_non_negative("processing_time", *m.processing_time));
  if (m.cost) CHAT_RETURN_IF_ERROR(check_non_negative("cost", *m.cost));
  for (const auto& a : m.attachments) {
    CHAT_RETURN_IF_ERROR(check_required_text("attachments", a.file_name, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("attachments", a.file_type, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("attachments", a.file_path, kMaxPathBytes));
    CHAT_RETURN_IF_ERROR(check_non_negative("attachments", a.file_size));
  }
  return {};
}

Result<std::optional<Message>> Messages::find_replay(std::int64_t conversation_id, const std::string& client_id,
                                                     Role role, const std::string& content) {
  auto existing = core_.store->find_message_by_client_id(conversation_id, client_id);
  if (!existing) {
    if (existing.error().code == ErrorCode::kNotFound) return std::optional<Message>();
    return std::move(existing).error();
  }
  if (existing->role != role || existing->content != content) return client_id_conflict();
  return std::optional<Message>(std::move(*existing));
}

// A key by id needs no lookup before the transaction; other keys are
// resolved to an id first (and checked again inside the transaction).
Result<PostResult> Messages::post(const Principal& who, const ConversationKey& key, NewMessage m) {
  if (m.agent_side) m.role = agent_side_role(who);
  CHAT_RETURN_IF_ERROR(validate_new(m));
  m.content_tokens = core_.context_tokens(m.role, m.status, m.content);
  std::int64_t id = key.id;
  bool by_integer_id = key.by == ConversationKey::By::kId;
  if (!by_integer_id) {
    CHAT_ASSIGN_OR_RETURN(auto found, keys_.resolve(who, key));
    id = found.conversation.id;
    by_integer_id = found.by_integer_id;
  } else if (id <= 0) {
    return conversation_not_found(key.kind);
  }
  const Timestamp now = core_.now();
  bool closed = false;  // refused only because the conversation is not writable
  Conversation seen;    // the row as the writer saw it, for PostResult::conversation
  auto admit = [&](const Conversation& c) -> Status {
    if (!key_admits(who, key, c, by_integer_id)) return conversation_not_found(key.kind);
    seen = c;
    CHAT_RETURN_IF_ERROR(check_role_allowed(who, c, m.role, core_.options.session_client_roles));
    // Judged when the writer holds the row (not before waiting for it); the
    // message keeps the earlier `now`, so it is never stamped at or after
    // the expiry that admitted it.
    auto writable = check_writable(c, core_.now());
    closed = !writable.ok();
    return writable;
  };
  auto out = core_.store->append_message(id, m, now, admit);
  if (!out) {
    // A retry of a post that succeeded before the conversation closed is
    // still answered with the stored message.
    if (closed && !m.client_id.empty()) {
      CHAT_ASSIGN_OR_RETURN(auto replay, find_replay(id, m.client_id, m.role, m.content));
      if (replay) return PostResult{std::move(*replay), true, std::move(seen)};
    }
    return not_found_as(std::move(out).error(), conversation_not_found(key.kind));
  }
  if (!out->created) {
    if (out->message.role != m.role || out->message.content != m.content) return client_id_conflict();
    return PostResult{std::move(out->message), true, std::move(seen)};
  }
  core_.publish(id, "message.created", out->message.id);
  return PostResult{std::move(out->message), false, std::move(seen)};
}

Result<Message> Messages::get(const Principal& who, const MessageKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key));
  return std::move(found.first);
}

Status Messages::validate_query(const Principal& who, const MessageQuery& q) const {
  CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, core_.options.max_page));
  CHAT_RETURN_IF_ERROR(check_non_negative("after_id", q.after_id));
  CHAT_RETURN_IF_ERROR(check_non_negative("before_id", q.before_id));
  CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
  if (q.include_deleted && !who.is_admin()) return Error::permission_denied("only admins may list deleted messages");
  return {};
}

Result<Page<Message>> Messages::list(const Principal& who, const ConversationKey& key, MessageQuery q) {
  CHAT_RETURN_IF_ERROR(validate_query(who, q));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key, q.include_deleted));
  q.budget = core_.page_budget();
  return core_.store->list_messages(c.id, q);
}

Result<ThreadMessages> Messages::list_thread(const Principal& who, const ConversationKey& key, MessageQuery q) {
  CHAT_RETURN_IF_ERROR(validate_query(who, q));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key, q.include_deleted));
  // The answer repeats the conversation in each message (seed 001).
  q.budget = core_.page_budget(stored_bytes(c));
  CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_messages(c.id, q));
  return ThreadMessages{std::move(c), std::move(page)};
}

Result<ThreadMessage> Messages::get_thread(const Principal& who, const MessageKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key));
  return ThreadMessage{std::move(found.second), std::move(found.first)};
}

Status Messages::validate_patch(MessagePatch& patch) const {
  // Seed 000's wording: a PATCH must change the content or the metadata.
  if (patch_is_empty(patch)) return Error::invalid("content", "content: content or metadata is required");
  if (patch.content) {
    CHAT_RETURN_IF_ERROR(check_required_text("content", *patch.content, core_.options.max_content_bytes));
  }
  if (patch.metadata) {
    CHAT_ASSIGN_OR_RETURN(patch.metadata,
                          normalize_json_object(*patch.metadata, "metadata", core_.options.max_metadata_bytes));
  }
  if (patch.tokens_used) CHAT_RETURN_IF_ERROR(check_non_negative("tokens_used", *patch.tokens_used));
  if (patch.processing_time) CHAT_RETURN_IF_ERROR(check_non_negative("processing_time", *patch.processing_time));
  if (patch.cost) CHAT_RETURN_IF_ERROR(check_non_negative("cost", *patch.cost));
  return {};
}

Result<Message> Messages::edit(const Principal& who, const MessageKey& key, MessagePatch patch) {
  CHAT_RETURN_IF_ERROR(validate_patch(patch));
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key));
  const auto& [m, c] = found;
  CHAT_RETURN_IF_ERROR(check_role_allowed(who, c, m.role, core_.options.session_client_roles));
  CHAT_RETURN_IF_ERROR(check_writable(c, core_.now()));
  // Counted for the status the message will have; a failed one has none.
  patch.content_tokens = std::nullopt;
  if (patch.content) patch.content_tokens = core_.context_tokens(m.role, patch.status.value_or(m.status), *patch.content);
  // The store keeps what the edit replaces and audits who edited when.
  auto updated = core_.store->update_message(m.id, patch, core_.audit(who));
  if (!updated) return not_found_as(std::move(updated).error(), message_not_found());
  core_.publish(m.conversation_id, "message.updated", m.id);
  return updated;
}

Result<std::vector<MessageVersion>> Messages::versions(const Principal& who, const MessageKey& key) {
  CHAT_RETURN_IF_ERROR(require_admin(who));
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key, true));
  auto out = core_.store->list_message_versions(found.first.id);
  if (!out) return not_found_as(std::move(out).error(), message_not_found());
  return out;
}

Status Messages::remove(const Principal& who, const MessageKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key));
  const Message& m = found.first;
  auto st = core_.store->soft_delete_message(m.id, core_.audit(who));
  if (!st) return not_found_as(std::move(st).error(), message_not_found());
  core_.publish(m.conversation_id, "message.deleted", m.id);
  return {};
}

Result<Message> Messages::restore(const Principal& who, const MessageKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.message(who, key, /*include_deleted=*/true));
  const Message& m = found.first;
  if (!m.deleted_at) return m;  // restoring a live row is a no-op, not an error
  auto restored = core_.store->restore_message(m.id, core_.audit(who));
  if (!restored) return not_found_as(std::move(restored).error(), message_not_found());
  core_.publish(m.conversation_id, "message.restored", m.id);
  return restored;
}

Result<Page<SearchHit>> Messages::search(const Principal& who, SearchQuery q) {
  if (is_blank(q.text)) return Error::invalid("text", "text is required");
  CHAT_RETURN_IF_ERROR(check_filter_text("text", q.text));
  CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, core_.options.max_page));
  if (q.conversation_id) {
    CHAT_RETURN_IF_ERROR(keys_.conversation(who, ConversationKey::of_id(*q.conversation_id, q.kind)));
    // Scoped to one visible conversation: no owner filter needed (and an
    // owner filter would hide ownerless or support conversations).
    if (!who.is_admin()) q.user_id.reset();
  } else {
    // Ownerless conversations are reached by their capability alone: no
    // search across them for anonymous callers.
    if (who.is_anonymous() && !core_.options.anonymous_listing)
      return Error::unauthenticated("searching messages needs a token");
    q.user_id = owner_scope(who, q.kind, std::move(q.user_id));
  }
  q.budget = core_.page_budget();
  return core_.store->search_messages(q);
}

Result<std::vector<Message>> Messages::wait(const Principal& who, const ConversationKey& key, std::int64_t after_id,
                                            std::chrono::milliseconds timeout, const std::stop_token& stop) {
  if (timeout.count() < 0) return Error::invalid("timeout", "timeout must not be negative");
  CHAT_RETURN_IF_ERROR(check_non_negative("after_id", after_id));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  const auto deadline = std::chrono::steady_clock::now() + std::min(timeout, core_.options.max_wait);

  MessageQuery q;
  q.after_id = after_id;
  q.limit = core_.options.max_page;
  q.budget = core_.page_budget();  // the caller polls again after the last id
  // The watch pins the slot, so its version moves only on this
  // conversation's changes; reading it before the query closes the window in
  // which a post could slip between the query and the wait.
  auto watch = core_.hub.watch(c.id);
  for (;;) {
    const std::uint64_t seen = watch.version();
    CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_messages(c.id, q));
    if (!page.items.empty()) return std::move(page.items);
    if (std::chrono::steady_clock::now() >= deadline || core_.hub.is_shut_down() || stop.stop_requested())
      return std::vector<Message>();
    if (watch.wait_for_change(seen, deadline, stop)) {
      // The change may have been the conversation going away.
      auto still = core_.store->get_conversation(c.id);
      if (!still) return not_found_as(std::move(still).error(), conversation_not_found(key.kind));
    }
  }
}

}  // namespace chat::detail
