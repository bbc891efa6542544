// PostgresStore: chat::Store on PostgreSQL, a facade that forwards every
// operation to the part that owns it, file for file as the SQLite store:
//   connection.hpp    one libpq connection: prepared statements, text params, RAII results
//   database.hpp      the pool, read/write wrappers with retry, error mapping, the cursor rule
//   rows.hpp          column lists, row -> domain type, Page<T> listings
//   schema.hpp        migrations (chat_schema_version, advisory lock)
//   conversations.hpp / messages.hpp / registries.hpp / audit.hpp  the tables
//   search_index.hpp  full-text search (indexed in the write's transaction)
//   event_log.hpp     the change log and its change notices
//   notices.hpp       the LISTEN thread for changes made through other stores
//   activity.hpp      the analytics SQL
// Private; the public factory is in chat/postgres_store.hpp.
#pragma once

#include "chat/postgres_store.hpp"
#include "chat/store.hpp"
#include "store/postgres/activity.hpp"
#include "store/postgres/audit.hpp"
#include "store/postgres/conversations.hpp"
#include "store/postgres/database.hpp"
#include "store/postgres/event_log.hpp"
#include "store/postgres/messages.hpp"
#include "store/postgres/notices.hpp"
#include "store/postgres/registries.hpp"
#include "store/postgres/search_index.hpp"

namespace chat::pg {

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const PostgresOptions& options);
  ~PostgresStore() override = default;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Connects and migrates. Errors: see open_postgres_store.
  Status init();

  Result<Conversation> create_conversation(const NewConversation& c, Timestamp now) override;
  Result<Conversation> get_conversation(std::int64_t id, bool include_deleted) override;
  Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted) override;
  Result<Conversation> find_conversation_by_handle(std::string_view handle, bool include_deleted) override;
  Result<Page<Conversation>> list_conversations(const ConversationQuery& q) override;
  Result<Conversation> update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) override;
  Status soft_delete_conversation(std::int64_t id, const AuditContext& audit) override;
  Result<Conversation> restore_conversation(std::int64_t id, const AuditContext& audit) override;
  Result<std::int64_t> clear_conversation(std::int64_t id, const AuditContext& audit) override;
  Result<Conversation> mark_read(std::int64_t conversation_id, std::int64_t up_to_message_id,
                                 Timestamp now) override;

  Result<AppendOutcome> append_message(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition) override;
  Result<CreatedThread> create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                         Timestamp now) override;
  Result<Message> get_message(std::int64_t id, bool include_deleted) override;
  Result<Message> find_message_by_uuid(std::string_view uuid, bool include_deleted) override;
  Result<Message> find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) override;
  Result<Page<Message>> list_messages(std::int64_t conversation_id, const MessageQuery& q) override;
  Result<std::vector<ContextMessage>> list_context(std::int64_t conversation_id, const ContextQuery& q) override;
  Result<Message> update_message(std::int64_t id, const MessagePatch& p, const AuditContext& audit) override;
  Result<std::vector<MessageVersion>> list_message_versions(std::int64_t message_id) override;
  Status soft_delete_message(std::int64_t id, const AuditContext& audit) override;
  Result<Message> restore_message(std::int64_t id, const AuditContext& audit) override;
  Result<Page<SearchHit>> search_messages(const SearchQuery& q) override;
  Result<std::int64_t> last_message_id() override;

  Result<Agent> put_agent(const Agent& a, Timestamp now) override;
  Result<Agent> get_agent(std::int64_t id) override;
  Result<std::vector<Agent>> list_agents() override;
  Result<Subject> put_subject(const Subject& s, Timestamp now) override;
  Result<Subject> get_subject(std::string_view id) override;
  Result<Profile> put_profile(const Profile& p, Timestamp now) override;
  Result<Profile> get_profile(std::string_view user_id) override;

  Result<std::vector<AuditEntry>> list_audit(const AuditQuery& q) override;
  Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit) override;
  Result<std::int64_t> flush_search_index() override;

  Result<ActivityLog> activity(const ActivityQuery& q) override;
  Result<ActivityTotals> activity_totals(std::optional<ConversationKind> kind) override;
  Result<ActivitySummary> activity_summary(const ActivitySummaryQuery& q) override;

  Result<EventPage> list_events(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                ByteBudget budget) override;
  Result<std::int64_t> last_event_id() override;
  Result<std::int64_t> trim_events(Timestamp before, std::int64_t max_rows) override;

  // notices.hpp.
  void set_change_listener(ChangeListener listener) override;
  Status publish_ephemeral(std::int64_t conversation_id, std::string_view payload) override;

 private:
  // Declaration order is destruction order reversed: the listener thread
  // stops before the pool closes.
  Database db_;
  SearchIndex index_;
  Conversations conversations_;
  Messages messages_;
  Registries registries_;
  AuditTrail audit_;
  Activity activity_;
  EventLog events_;
  Notices notices_;
};

}  // namespace chat::pg
