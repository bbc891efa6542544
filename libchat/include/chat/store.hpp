// chat/store.hpp: persistence of the domain model.
//
// A Store keeps conversations, messages, attachments, agents, subjects,
// profiles and the audit trail. It enforces storage-level invariants only:
// uniqueness (conversation uuid and handle, message uuid, live client_id per
// conversation), counters kept exact in the same transaction as the change
// that moves them, soft deletes hidden from every read path unless
// `include_deleted` is asked for, and an audit entry written in the same
// transaction as every delete, clear, restore and purge. Access rules,
// expiry and business rules belong to ChatService, not here (append_message
// can run the caller's check in its transaction: see AppendPrecondition).
//
// Thread safety: every Store returned by a factory here is safe to use from
// many threads at once (one writer at a time, readers concurrent).
//
// Failure: no method throws. Constraint violations come back as kConflict,
// unknown ids as kNotFound, invalid JSON text as kInvalidArgument, a database
// busy past its timeout as kUnavailable, anything else as kInternal with a
// message that leaks no SQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"

namespace chat {

// Who did a destructive change, and when; recorded in the audit trail.
struct AuditContext {
  std::string actor;
  Timestamp at{};
};

struct AppendOutcome {
  Message message;
  bool created = true;  // false: a live message with this client_id already existed and is returned
};

// A caller's condition on the conversation an append goes to (see
// Store::append_message). An error refuses the append.
using AppendPrecondition = std::function<Status(const Conversation& conversation)>;

struct AuditQuery {
  std::optional<std::int64_t> conversation_id;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

// ---- seeds 002 / 003: analytics inputs
// Live rows only: soft-deleted conversations and messages (and the messages
// of deleted conversations) never appear.
struct ActivityQuery {
  std::optional<std::string> user_id;  // owner ("" = ownerless); nullopt: every owner
  std::optional<ConversationKind> kind;
  std::optional<std::int64_t> conversation_id;
};

struct ConversationActivity {
  std::int64_t id = 0;
  std::string user_id;
  std::optional<std::int64_t> agent_id;
  Timestamp created_at{};
};

struct MessageActivity {
  std::int64_t id = 0;
  std::int64_t conversation_id = 0;
  Role role = Role::kUser;
  MessageStatus status = MessageStatus::kSent;
  Timestamp created_at{};
};

struct ActivityLog {
  std::vector<ConversationActivity> conversations;  // by id
  std::vector<MessageActivity> messages;            // by conversation_id, then id
};

struct AgentTotals {
  std::int64_t agent_id = 0;
  std::string name;  // empty when the agent row no longer exists
  std::int64_t conversations = 0;
  std::int64_t replies = 0;         // live assistant messages
  std::int64_t failed_replies = 0;  // of which status failed
};

struct ActivityTotals {
  std::int64_t conversations = 0;
  std::int64_t owned_conversations = 0;  // with a non-empty user_id
  std::int64_t messages = 0;
  std::int64_t owners = 0;               // distinct non-empty user_id
  std::vector<AgentTotals> agents;       // every agent_id of a live conversation, by agent_id
};

class Store {
 public:
  virtual ~Store() = default;

  // ---- conversations
  virtual Result<Conversation> create_conversation(const NewConversation& c, Timestamp now) = 0;
  virtual Result<Conversation> get_conversation(std::int64_t id, bool include_deleted = false) = 0;
  virtual Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted = false) = 0;
  virtual Result<Conversation> find_conversation_by_handle(std::string_view handle,
                                                           bool include_deleted = false) = 0;
  virtual Result<Page<Conversation>> list_conversations(const ConversationQuery& q) = 0;
  virtual Result<Conversation> update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) = 0;
  virtual Status soft_delete_conversation(std::int64_t id, const AuditContext& audit) = 0;
  virtual Result<Conversation> restore_conversation(std::int64_t id, const AuditContext& audit) = 0;
  // Soft-deletes every live message of the conversation; returns how many.
  virtual Result<std::int64_t> clear_conversation(std::int64_t id, const AuditContext& audit) = 0;
  // Everything up to and including `up_to_message_id` counts as read.
  virtual Result<Conversation> mark_read(std::int64_t conversation_id, std::int64_t up_to_message_id,
                                         Timestamp now) = 0;

  // ---- messages
  // Appends to a live conversation, updating its counters in the same
  // transaction. When `m.client_id` names a live message of the conversation,
  // nothing is written and that message is returned with created = false.
  //
  // `precondition`, when set, is called once inside the append's write
  // transaction with the conversation row as that transaction sees it, after
  // the live check (a missing or soft-deleted conversation answers kNotFound
  // without calling it) and before the client_id lookup. An error it returns
  // is returned as is and nothing is written (a refusal wins over a client_id
  // replay); so is an exception it throws, as kInternal. Nothing can change
  // the row between the check and the write. It runs while the store holds
  // its writer: it must be quick and must not call the store.
  virtual Result<AppendOutcome> append_message(std::int64_t conversation_id, const NewMessage& m,
                                               Timestamp now, const AppendPrecondition& precondition = {}) = 0;
  virtual Result<Message> get_message(std::int64_t id, bool include_deleted = false) = 0;
  virtual Result<Message> find_message_by_uuid(std::string_view uuid, bool include_deleted = false) = 0;
  virtual Result<Message> find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) = 0;
  virtual Result<Page<Message>> list_messages(std::int64_t conversation_id, const MessageQuery& q) = 0;
  virtual Result<Message> update_message(std::int64_t id, const MessagePatch& p, Timestamp now) = 0;
  virtual Status soft_delete_message(std::int64_t id, const AuditContext& audit) = 0;
  virtual Result<Message> restore_message(std::int64_t id, const AuditContext& audit) = 0;
  // Full-text search over live messages of live conversations. Fresh: a
  // message is searchable as soon as append_message returned (the index is
  // caught up before the query; indexing is kept off the append path).
  virtual Result<Page<SearchHit>> search_messages(const SearchQuery& q) = 0;
  // Largest message id ever assigned (0 for an empty store).
  virtual Result<std::int64_t> last_message_id() = 0;

  // ---- registries
  virtual Result<Agent> put_agent(const Agent& a, Timestamp now) = 0;  // id 0: assign one
  virtual Result<Agent> get_agent(std::int64_t id) = 0;
  virtual Result<std::vector<Agent>> list_agents() = 0;
  virtual Result<Subject> put_subject(const Subject& s, Timestamp now) = 0;
  virtual Result<Subject> get_subject(std::string_view id) = 0;
  virtual Result<Profile> put_profile(const Profile& p, Timestamp now) = 0;
  virtual Result<Profile> get_profile(std::string_view user_id) = 0;

  // ---- audit and retention
  virtual Result<std::vector<AuditEntry>> list_audit(const AuditQuery& q) = 0;
  // Removes for good every conversation and message soft-deleted before
  // `deleted_before` (with their attachments and index entries); returns rows removed.
  virtual Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit) = 0;
  // Indexes every message not yet in the search index; returns how many.
  virtual Result<std::int64_t> flush_search_index() = 0;

  // ---- seeds 002 / 003: analytics (read-only, on the reader pool)
  // The conversations matching `q` and their messages, in a compact form.
  virtual Result<ActivityLog> activity(const ActivityQuery& q) = 0;
  // Aggregates over the live conversations of `kind` (nullopt: every kind).
  virtual Result<ActivityTotals> activity_totals(std::optional<ConversationKind> kind) = 0;
};

enum class Durability {
  kNormal,  // WAL + synchronous=NORMAL: an acknowledged write survives a process crash, not a power loss
  kFull,    // WAL + synchronous=FULL: survives power loss too, several times slower per transaction
};

struct SqliteOptions {
  std::string path = "chat.db";  // ":memory:" for a private in-memory database
  Durability durability = Durability::kNormal;
  int reader_connections = 4;    // concurrent readers (ignored for :memory:)
  std::chrono::milliseconds busy_timeout{5000};
  std::int64_t cache_size_kib = 65536;
  // Pending (not yet indexed) messages that make the background indexer run;
  // searches catch the index up themselves either way.
  std::int64_t index_batch = 512;
  std::shared_ptr<Logger> logger;  // null: no logging
};

// Opens (creating if needed) and migrates a SQLite database. Fails with
// kUnavailable when the file cannot be opened or is locked by another
// process, kInternal when it is not a libchat database of a known version.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

// A private in-memory SQLite store (tests, embedding without a file).
Result<std::unique_ptr<Store>> open_memory_store();

}  // namespace chat
