#include "store/postgres/postgres_store.hpp"

#include <exception>
#include <utility>

namespace chat {

namespace pg {

PostgresStore::PostgresStore(const PostgresOptions& options)
    : db_(options),
      index_(db_),
      conversations_(db_),
      messages_(db_),
      registries_(db_),
      audit_(db_),
      activity_(db_),
      events_(db_),
      notices_(db_) {}

Status PostgresStore::init() { return db_.open(); }

// ---- conversations

Result<Conversation> PostgresStore::create_conversation(const NewConversation& c, Timestamp now) {
  return conversations_.create(c, now);
}
Result<Conversation> PostgresStore::get_conversation(std::int64_t id, bool include_deleted) {
  return conversations_.get(id, include_deleted);
}
Result<Conversation> PostgresStore::find_conversation_by_uuid(std::string_view uuid, bool include_deleted) {
  return conversations_.find_by_uuid(uuid, include_deleted);
}
Result<Conversation> PostgresStore::find_conversation_by_handle(std::string_view handle, bool include_deleted) {
  return conversations_.find_by_handle(handle, include_deleted);
}
Result<Page<Conversation>> PostgresStore::list_conversations(const ConversationQuery& q) {
  return conversations_.list(q);
}
Result<Conversation> PostgresStore::update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) {
  return conversations_.update(id, p, now);
}
Status PostgresStore::soft_delete_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.soft_delete(id, audit);
}
Result<Conversation> PostgresStore::restore_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.restore(id, audit);
}
Result<std::int64_t> PostgresStore::clear_conversation(std::int64_t id, const AuditContext& audit) {
  return conversations_.clear(id, audit);
}
Result<Conversation> PostgresStore::mark_read(std::int64_t conversation_id, std::int64_t up_to_message_id,
                                            Timestamp now) {
  return conversations_.mark_read(conversation_id, up_to_message_id, now);
}

// ---- messages

Result<AppendOutcome> PostgresStore::append_message(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                                  const AppendPrecondition& precondition) {
  return messages_.append(conversation_id, m, now, precondition);
}
Result<CreatedThread> PostgresStore::create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                                      Timestamp now) {
  return db_.guarded<CreatedThread>([&]() -> Result<CreatedThread> {
    CHAT_ASSIGN_OR_RETURN(const Conversation prepared, conversations_.prepare(c, now));
    CHAT_ASSIGN_OR_RETURN(const AppendOutcome first, messages_.prepare(0, m, now));
    // One write transaction: an error from either half rolls both back.
    return db_.write<CreatedThread>([&](pg::Conn& w) -> Result<CreatedThread> {
      Conversation conv = prepared;
      conversations_.insert(w, conv);
      CHAT_ASSIGN_OR_RETURN(AppendOutcome out, messages_.insert(w, conv.id, m, first, {}));
      CHAT_ASSIGN_OR_RETURN(Conversation committed, pg::load_conversation(w, conv.id, false));
      return CreatedThread{std::move(committed), std::move(out.message)};
    });
  });
}
Result<Message> PostgresStore::get_message(std::int64_t id, bool include_deleted) {
  return messages_.get(id, include_deleted);
}
Result<Message> PostgresStore::find_message_by_uuid(std::string_view uuid, bool include_deleted) {
  return messages_.find_by_uuid(uuid, include_deleted);
}
Result<Message> PostgresStore::find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) {
  return messages_.find_by_client_id(conversation_id, client_id);
}
Result<Page<Message>> PostgresStore::list_messages(std::int64_t conversation_id, const MessageQuery& q) {
  return messages_.list(conversation_id, q);
}
Result<std::vector<ContextMessage>> PostgresStore::list_context(std::int64_t conversation_id, const ContextQuery& q) {
  return messages_.list_context(conversation_id, q);
}
Result<Message> PostgresStore::update_message(std::int64_t id, const MessagePatch& p, const AuditContext& audit) {
  return messages_.update(id, p, audit);
}
Result<std::vector<MessageVersion>> PostgresStore::list_message_versions(std::int64_t message_id) {
  return messages_.versions(message_id);
}
Status PostgresStore::soft_delete_message(std::int64_t id, const AuditContext& audit) {
  return messages_.soft_delete(id, audit);
}
Result<Message> PostgresStore::restore_message(std::int64_t id, const AuditContext& audit) {
  return messages_.restore(id, audit);
}
Result<Page<SearchHit>> PostgresStore::search_messages(const SearchQuery& q) { return index_.search(q); }
Result<std::int64_t> PostgresStore::last_message_id() { return messages_.last_id(); }

// ---- registries

Result<Agent> PostgresStore::put_agent(const Agent& a, Timestamp now) { return registries_.put_agent(a, now); }
Result<Agent> PostgresStore::get_agent(std::int64_t id) { return registries_.get_agent(id); }
Result<std::vector<Agent>> PostgresStore::list_agents() { return registries_.list_agents(); }
Result<Subject> PostgresStore::put_subject(const Subject& s, Timestamp now) { return registries_.put_subject(s, now); }
Result<Subject> PostgresStore::get_subject(std::string_view id) { return registries_.get_subject(id); }
Result<Profile> PostgresStore::put_profile(const Profile& p, Timestamp now) { return registries_.put_profile(p, now); }
Result<Profile> PostgresStore::get_profile(std::string_view user_id) { return registries_.get_profile(user_id); }

// ---- audit, retention, index

Result<std::vector<AuditEntry>> PostgresStore::list_audit(const AuditQuery& q) { return audit_.list(q); }
Result<std::int64_t> PostgresStore::purge(Timestamp deleted_before, const AuditContext& audit) {
  return audit_.purge(deleted_before, audit);
}
// Messages are indexed in their write's transaction: nothing is ever pending.
Result<std::int64_t> PostgresStore::flush_search_index() { return std::int64_t{0}; }

// ---- change log

Result<EventPage> PostgresStore::list_events(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                           ByteBudget budget) {
  return events_.list(conversation_id, after_id, limit, budget);
}
Result<std::int64_t> PostgresStore::last_event_id() { return events_.last_id(); }

void PostgresStore::set_change_listener(ChangeListener listener) { notices_.set_listener(std::move(listener)); }

Status PostgresStore::publish_ephemeral(std::int64_t conversation_id, std::string_view payload) {
  return notices_.publish(conversation_id, payload);
}
Result<std::int64_t> PostgresStore::trim_events(Timestamp before, std::int64_t max_rows) {
  return events_.trim(before, max_rows);
}

// ---- analytics

Result<ActivityLog> PostgresStore::activity(const ActivityQuery& q) { return activity_.log(q); }
Result<ActivityTotals> PostgresStore::activity_totals(std::optional<ConversationKind> kind) {
  return activity_.totals(kind);
}
Result<ActivitySummary> PostgresStore::activity_summary(const ActivitySummaryQuery& q) { return activity_.summary(q); }

}  // namespace pg

// ---- factory

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options) {
  if (options.conninfo.empty()) return Error::invalid("conninfo", "the connection string is empty");
  if (auto why = pg::conninfo_error(options.conninfo))
    return Error::invalid("conninfo", "the connection string cannot be parsed: " + *why);
  std::unique_ptr<pg::PostgresStore> store;
  try {
    store = std::make_unique<pg::PostgresStore>(options);
  } catch (const std::exception&) {
    return Error::internal("the store could not be created");
  }
  CHAT_RETURN_IF_ERROR(store->init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace chat
