#include "store/sqlite/sqlite_store.hpp"

#include <exception>
#include <utility>

namespace chat {

namespace sqlite {

SqliteStore::SqliteStore(const SqliteOptions& options)
    : db_(options),
      index_(db_),
      conversations_(db_),
      messages_(db_, index_),
      registries_(db_),
      audit_(db_),
      activity_(db_),
      events_(db_) {}

Status SqliteStore::init() {
  CHAT_RETURN_IF_ERROR(db_.open());
  return index_.start();
}

// ---- conversations

Result<Conversation> SqliteStore::create_conversation(const NewConversation& c, Timestamp now) {
  return conversations_.create(c, now);
}
Result<Conversation> SqliteStore::get_conversation(std::int64_t id, bool include_deleted) {
  return conversations_.get(id, include_deleted);
}
Result<Conversation> SqliteStore::find_conversation_by_uuid(std::string_view uuid, bool include_deleted) {
  return conversations_.find_by_uuid(uuid, include_deleted);
}
Result<Conversation> SqliteStore::find_conversation_by_handle(std::string_view handle, bool include_deleted) {
  return conversations_.find_by_handle(handle, include_deleted);
}
Result<Page<Conversation>> SqliteStore::list_conversations(const ConversationQuery& q) {
  return conversations_.list(q);
}
Result<Conversation> SqliteStore::update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) {
  return conversations_.update(id, p, now);
}
Status SqliteStore::soft_delete_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.soft_delete(id, audit);
}
Result<Conversation> SqliteStore::restore_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.restore(id, audit);
}
Result<std::int64_t> SqliteStore::clear_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.clear(id, audit);
}
Result<Conversation> SqliteStore::mark_read(std::int64_t conversation_id, std::int64_t up_to_message_id,
                                            Timestamp now) {
  return conversations_.mark_read(conversation_id, up_to_message_id, now);
}

// ---- messages

Result<AppendOutcome> SqliteStore::append_message(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                                  const AppendPrecondition& precondition) {
  return messages_.append(conversation_id, m, now, precondition);
}
Result<CreatedThread> SqliteStore::create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                                    Timestamp now) {
  return db_.guarded<CreatedThread>([&]() -> Result<CreatedThread> {
    CHAT_ASSIGN_OR_RETURN(Conversation conv, conversations_.prepare(c, now));
    CHAT_ASSIGN_OR_RETURN(AppendOutcome first, messages_.prepare(0, m, now));
    // One write transaction: an error from either half rolls both back.
    return db_.write<CreatedThread>([&](sqlite::Conn& w) -> Result<CreatedThread> {
      conversations_.insert(w, conv);
      CHAT_ASSIGN_OR_RETURN(AppendOutcome out, messages_.insert(w, conv.id, m, std::move(first), {}));
      CHAT_ASSIGN_OR_RETURN(Conversation committed, sqlite::load_conversation(w, conv.id, false));
      return CreatedThread{std::move(committed), std::move(out.message)};
    });
  });
}
Result<Message> SqliteStore::get_message(std::int64_t id, bool include_deleted) {
  return messages_.get(id, include_deleted);
}
Result<Message> SqliteStore::find_message_by_uuid(std::string_view uuid, bool include_deleted) {
  return messages_.find_by_uuid(uuid, include_deleted);
}
Result<Message> SqliteStore::find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) {
  return messages_.find_by_client_id(conversation_id, client_id);
}
Result<Page<Message>> SqliteStore::list_messages(std::int64_t conversation_id, const MessageQuery& q) {
  return messages_.list(conversation_id, q);
}
Result<std::vector<ContextMessage>> SqliteStore::list_context(std::int64_t conversation_id, const ContextQuery& q) {
  return messages_.list_context(conversation_id, q);
}
Result<Message> SqliteStore::update_message(std::int64_t id, const MessagePatch& p, const AuditContext& audit) {
  return messages_.update(id, p, audit);
}
Result<std::vector<MessageVersion>> SqliteStore::list_message_versions(std::int64_t message_id) {
  return messages_.versions(message_id);
}
Status SqliteStore::soft_delete_message(std::int64_t id, const AuditContext& audit) {
  return messages_.soft_delete(id, audit);
}
Result<Message> SqliteStore::restore_message(std::int64_t id, const AuditContext& audit) {
  return messages_.restore(id, audit);
}
Result<Page<SearchHit>> SqliteStore::search_messages(const SearchQuery& q) { return index_.search(q); }
Result<std::int64_t> SqliteStore::last_message_id() { return messages_.last_id(); }

// ---- registries

Result<Agent> SqliteStore::put_agent(const Agent& a, Timestamp now) { return registries_.put_agent(a, now); }
Result<Agent> SqliteStore::get_agent(std::int64_t id) { return registries_.get_agent(id); }
Result<std::vector<Agent>> SqliteStore::list_agents() { return registries_.list_agents(); }
Result<Subject> SqliteStore::put_subject(const Subject& s, Timestamp now) { return registries_.put_subject(s, now); }
Result<Subject> SqliteStore::get_subject(std::string_view id) { return registries_.get_subject(id); }
Result<Profile> SqliteStore::put_profile(const Profile& p, Timestamp now) { return registries_.put_profile(p, now); }
Result<Profile> SqliteStore::get_profile(std::string_view user_id) { return registries_.get_profile(user_id); }

// ---- audit, retention, index

Result<std::vector<AuditEntry>> SqliteStore::list_audit(const AuditQuery& q) { return audit_.list(q); }
Result<std::int64_t> SqliteStore::purge(Timestamp deleted_before, const AuditContext& audit) {
  return audit_.purge(deleted_before, audit);
}
Result<std::int64_t> SqliteStore::flush_search_index() { return index_.flush(); }

// ---- change log

Result<EventPage> SqliteStore::list_events(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                           ByteBudget budget) {
  return events_.list(conversation_id, after_id, limit, budget);
}
Result<std::int64_t> SqliteStore::last_event_id() { return events_.last_id(); }

void SqliteStore::set_change_listener(ChangeListener) {}

Status SqliteStore::publish_ephemeral(std::int64_t, std::string_view payload) {
  if (payload.size() > kMaxEphemeralPayloadBytes) return Error::invalid("payload", "ephemeral payload too large");
  return {};
}
Result<std::int64_t> SqliteStore::trim_events(Timestamp before, std::int64_t max_rows) {
  return events_.trim(before, max_rows);
}

// ---- analytics

Result<ActivityLog> SqliteStore::activity(const ActivityQuery& q) { return activity_.log(q); }
Result<ActivityTotals> SqliteStore::activity_totals(std::optional<ConversationKind> kind) {
  return activity_.totals(kind);
}
Result<ActivitySummary> SqliteStore::activity_summary(const ActivitySummaryQuery& q) { return activity_.summary(q); }

}  // namespace sqlite

// ---- factories

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  if (options.path.empty()) return Error::invalid("path", "the database path is empty");
  std::unique_ptr<sqlite::SqliteStore> store;
  try {
    store = std::make_unique<sqlite::SqliteStore>(options);
  } catch (const std::exception&) {
    return Error::internal("the database could not be opened");
  }
  CHAT_RETURN_IF_ERROR(store->init());
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> open_memory_store() {
  SqliteOptions options;
  options.path = ":memory:";
  return open_sqlite_store(options);
}

}  // namespace chat
