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
// Listings (list_conversations, list_messages, search_messages) end a page at
// the query's `budget` (ByteBudget, chat/types.hpp) as well as at `limit`,
// without reading the rows past it.
//
// Thread safety: every Store implementation is safe to use from many threads
// at once (chat/sqlite_store.hpp: one writer at a time, readers concurrent).
//
// Failure: no method throws. Constraint violations come back as kConflict,
// unknown ids as kNotFound, invalid JSON text as kInvalidArgument, a database
// busy past its timeout as kUnavailable, anything else as kInternal with a
// message that leaks no SQL.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/events.hpp"
#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/token_counter.hpp"
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

// A conversation created together with its first message
// (Store::create_conversation_with_message).
struct CreatedThread {
  Conversation conversation;  // as committed, counters included (total_messages = 1)
  Message message;
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

// ---- context windows (issue 11)
// One message as a model's context window needs it (Store::list_context):
// no metadata, attachments or times.
struct ContextMessage {
  std::int64_t id = 0;
  Role role = Role::kUser;
  std::string content;
  // The count stored with the message (NewMessage::content_tokens) when the
  // counter that made it is ContextQuery::counter; nullopt otherwise (not
  // counted, counted by another counter, or content edited since): the
  // caller counts it.
  std::optional<std::int64_t> tokens;
};

struct ContextQuery {
  std::int64_t before_id = 0;  // when > 0, only messages with id < before_id: the next batch's cursor
  std::string counter;         // the caller's TokenCounter::counter_id(); "": no stored count is returned
  std::int64_t limit = 64;     // messages in this batch
  // When > 0, the batch also ends after the message whose content takes the
  // batch's content bytes past max_bytes: a caller whose budget those bytes
  // surely exceed (TokenCounter::max_token_bytes) reads no further. Bounds
  // the memory of one batch (512 messages at the content limit are 128 MiB).
  std::size_t max_bytes = 0;
};

// Seed 003 dashboard sums (Store::activity_summary), issue 11: kept up to
// date on every write, so a dashboard costs O(conversations + days + long
// idle gaps) of the scope, not O(messages). "Live chain": the live messages
// of a conversation in id order; a link is two consecutive ones.
struct ActivitySummaryQuery {
  ActivityQuery scope;          // conversation_id is ignored
  std::int64_t first_day = 0;   // UTC day numbers (floor(ms since the epoch / 86,400,000)) of `days`, inclusive
  std::int64_t last_day = -1;
  std::chrono::milliseconds gap{std::chrono::minutes(30)};  // activity gap (ServiceOptions::activity_gap)
};

struct DayActivity {
  std::int64_t day = 0;            // UTC day number
  std::int64_t conversations = 0;  // live conversations created that day
  std::int64_t messages = 0;       // live messages created that day
};

struct ActivitySummary {
  std::int64_t conversations = 0;   // live conversations in scope
  std::int64_t messages = 0;        // their live messages
  std::int64_t reply_pairs = 0;     // links of live non-system messages, user then assistant or agent
  std::int64_t reply_ms = 0;        // sum of their gaps (milliseconds)
  std::optional<std::int64_t> most_active_agent;  // most live assistant messages; ties: lowest id
  std::int64_t most_active_agent_messages = 0;
  std::vector<DayActivity> days;    // days of [first_day, last_day] with any activity, oldest first
  // Activity periods (chat/analytics.hpp): one per conversation with live
  // messages plus one per link longer than `gap`; activity_period_ms sums
  // last minus first created_at of each period (message times taken in id order).
  std::int64_t activity_periods = 0;
  std::int64_t activity_period_ms = 0;
};

// A change committed through another Store object on the same database
// (Store::set_change_listener, issue 13).
struct ExternalChange {
  // The conversation that changed; 0: anything may have changed (the notice
  // channel was lost and re-established, so notices may be missing): every
  // watcher re-reads.
  std::int64_t conversation_id = 0;
  // Empty for a committed change. Otherwise an ephemeral notice (typing) as
  // another store's publish_ephemeral sent it; nothing was stored.
  std::string ephemeral;
};
using ChangeListener = std::function<void(const ExternalChange& change)>;
inline constexpr std::size_t kMaxEphemeralPayloadBytes = 4000;

class Store {
 public:
  virtual ~Store() = default;

  // Every method may also fail with kUnavailable (the database is busy past
  // its timeout, or full) or kInternal (any other storage failure); those are
  // not repeated below. Times are stored with millisecond precision. `limit`
  // and `offset` count rows; a negative one is kInvalidArgument naming the
  // field ("limit" / "offset"). Metadata is a JSON object of at most 64 KiB,
  // stored in compact form ("{}" when empty).

  // ---- conversations

  // Creates a live conversation; an empty `c.uuid` gets a new UUID v4, an
  // empty type "chat", an empty status "active". kInvalidArgument: "uuid" is
  // not a UUID, "metadata" is not a JSON object or too large. kConflict: the
  // uuid or the handle ("uuid" / "handle") is already taken, also by a
  // soft-deleted conversation (it can still be restored).
  virtual Result<Conversation> create_conversation(const NewConversation& c, Timestamp now) = 0;
  // kNotFound: no conversation has this id, or it is soft-deleted and
  // `include_deleted` is false. The same for the two lookups below (an empty
  // handle is never found).
  virtual Result<Conversation> get_conversation(std::int64_t id, bool include_deleted = false) = 0;
  virtual Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted = false) = 0;
  virtual Result<Conversation> find_conversation_by_handle(std::string_view handle,
                                                           bool include_deleted = false) = 0;
  // One page in `q.order`, with the total of matching rows read in the same
  // snapshot. `q.search` is a substring of handle, external_user_id or title,
  // matched literally and without case (chat::fold_case: full Unicode case
  // folding and NFC on both sides). kInvalidArgument "search": the text breaks
  // chat::check_filter_text (a control character such as NUL, not UTF-8, too long).
  virtual Result<Page<Conversation>> list_conversations(const ConversationQuery& q) = 0;
  // Sets the fields `p` names (nullopt leaves a field as it is) and
  // updated_at. kNotFound: missing or soft-deleted. kInvalidArgument: "metadata".
  virtual Result<Conversation> update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) = 0;
  // Hides the conversation (and thereby its messages) from every read path;
  // audited as "conversation.delete". kNotFound: missing or already deleted.
  virtual Status soft_delete_conversation(std::int64_t id, const AuditContext& audit) = 0;
  // Undoes soft_delete_conversation; audited as "conversation.restore".
  // kNotFound: no soft-deleted conversation has this id.
  virtual Result<Conversation> restore_conversation(std::int64_t id, const AuditContext& audit) = 0;
  // Soft-deletes every live message of the conversation and zeroes its
  // counters; returns how many messages. Audited as "conversation.clear" with
  // detail {"deleted_count": n}. kNotFound: missing or soft-deleted.
  virtual Result<std::int64_t> clear_conversation(std::int64_t id, const AuditContext& audit) = 0;
  // Everything up to and including `up_to_message_id` counts as read. The
  // mark never moves back and is clamped to the conversation's largest
  // message id; non-user messages between the old and the new mark whose
  // status is `sent` become `read`, and unread_count is recomputed.
  // kNotFound: missing or soft-deleted.
  virtual Result<Conversation> mark_read(std::int64_t conversation_id, std::int64_t up_to_message_id,
                                         Timestamp now) = 0;

  // ---- messages
  // Appends to a live conversation, updating its counters in the same
  // transaction. When `m.client_id` names a live message of the conversation,
  // nothing is written and that message is returned with created = false.
  // `m.content_tokens`, when set, is kept for list_context. kNotFound: the
  // conversation is missing or soft-deleted. kInvalidArgument: "uuid" is not
  // a UUID, "metadata", negative "tokens_used", "content_tokens" (a negative
  // count, or a counter id empty or over kMaxCounterIdBytes). kConflict: the
  // uuid is already taken.
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
  // Creates a conversation and appends its first message in ONE transaction:
  // both are committed or neither is (a failure of the message leaves no
  // empty conversation behind). Errors: those of create_conversation and of
  // append_message (`m.client_id` has nothing to replay in a new conversation).
  virtual Result<CreatedThread> create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                                 Timestamp now) = 0;
  // kNotFound: no message has this id (uuid), or it or its conversation is
  // soft-deleted and `include_deleted` is false. Attachments are included.
  virtual Result<Message> get_message(std::int64_t id, bool include_deleted = false) = 0;
  virtual Result<Message> find_message_by_uuid(std::string_view uuid, bool include_deleted = false) = 0;
  // The live message of a live conversation with this client_id. kNotFound:
  // none (an empty client_id is never found).
  virtual Result<Message> find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) = 0;
  // One page in id order, with the total of matching rows read in the same
  // snapshot. `q.search` is a substring of the content, matched literally and
  // without case as for list_conversations (chat::fold_case). kNotFound: the
  // conversation is missing, or soft-deleted and `q.include_deleted` is false.
  // kInvalidArgument "search": as for list_conversations.
  virtual Result<Page<Message>> list_messages(std::int64_t conversation_id, const MessageQuery& q) = 0;
  // The messages a model's context window may hold, newest first, in
  // batches: live messages of role user, assistant or agent, with non-empty
  // content and status other than failed (soft-deleted and cleared messages
  // never appear). At most `q.limit` of them with id < `q.before_id`; fewer
  // than the limit means none older are left, or the batch passed
  // `q.max_bytes`. Reads only what
  // ContextMessage holds. A caller fills its token budget newest first and
  // asks for the next batch (before_id = the last id it got) only while the
  // budget has room, so a reply reads about what its window holds however
  // long the conversation is; batches are separate reads (a message deleted
  // between two batches may or may not be in the earlier one). kNotFound:
  // the conversation is missing or soft-deleted. kInvalidArgument "limit":
  // negative.
  virtual Result<std::vector<ContextMessage>> list_context(std::int64_t conversation_id,
                                                           const ContextQuery& q) = 0;
  // Sets the fields `p` names and updated_at (= audit.at); a changed
  // tokens_used moves the conversation's total_tokens, changed content is
  // re-indexed for search. Every update is an edit on the record, in the same
  // transaction: the content and metadata it replaces are kept as the next
  // MessageVersion (list_message_versions), and an audit entry
  // "message.edit" names who and when (detail {"version": n}).
  // Changed content drops the stored token count unless `p.content_tokens`
  // gives the new one.
  // kNotFound: the message or its conversation is missing or soft-deleted.
  // kInvalidArgument: "metadata", negative "tokens_used", "content_tokens"
  // (as for append_message).
  virtual Result<Message> update_message(std::int64_t id, const MessagePatch& p, const AuditContext& audit) = 0;
  // What the edits of a message replaced, oldest first (version 1 is the
  // content as created). Empty for a message never edited. kNotFound: no
  // message has this id (deleted ones included: the record outlives the
  // soft delete, until a purge removes both).
  virtual Result<std::vector<MessageVersion>> list_message_versions(std::int64_t message_id) = 0;
  // Hides the message and takes it out of its conversation's counters;
  // audited as "message.delete". kNotFound: as for update_message.
  virtual Status soft_delete_message(std::int64_t id, const AuditContext& audit) = 0;
  // Undoes soft_delete_message; audited as "message.restore". kNotFound: no
  // soft-deleted message has this id, or its conversation is soft-deleted
  // (restore that first). kConflict ("client_id"): a live message of the
  // conversation took its client_id meanwhile.
  virtual Result<Message> restore_message(std::int64_t id, const AuditContext& audit) = 0;
  // Full-text search over live messages of live conversations. Fresh: a
  // message is searchable as soon as append_message returned (the index is
  // caught up before the query; indexing is kept off the append path).
  // `q.text` is plain words, all of which must match (Unicode-aware, accents
  // ignored); ranked by relevance (SQLite: bm25 over the words, k1 = 1.2,
  // b = 0.75, each word's document frequency cached and recounted once the
  // index grew by 2%; PostgreSQL: ts_rank, chat/postgres_store.hpp), then
  // newest first. Only the newest 1000 in-scope matches
  // are ranked, so `total` is exact up to 1000 and capped there.
  // Case: the index and the query hold chat::fold_case text (full case
  // folding + NFC: "STRASSE" finds "Straße"), and the unicode61 tokenizer
  // drops diacritics ("über" finds "Über" and "Uber").
  // kInvalidArgument "query": no words, the text breaks chat::check_filter_text
  // (e.g. a NUL), or the search engine cannot parse it (never kInternal).
  virtual Result<Page<SearchHit>> search_messages(const SearchQuery& q) = 0;
  // Largest message id ever assigned (0 for an empty store); ids are never
  // reused, even after a purge.
  virtual Result<std::int64_t> last_message_id() = 0;

  // ---- registries
  // Id 0 assigns a new id; any other id creates or replaces that agent.
  // kInvalidArgument: empty "name", negative "id".
  virtual Result<Agent> put_agent(const Agent& a, Timestamp now) = 0;
  virtual Result<Agent> get_agent(std::int64_t id) = 0;  // kNotFound: no such agent
  virtual Result<std::vector<Agent>> list_agents() = 0;  // by id
  // An empty id assigns a new UUID v4; an existing id has its title and
  // description replaced (created_by and created_at stay).
  virtual Result<Subject> put_subject(const Subject& s, Timestamp now) = 0;
  virtual Result<Subject> get_subject(std::string_view id) = 0;  // kNotFound: no such subject
  // Creates or replaces the profile of `p.user_id`. Each section is a JSON
  // array of at most 1 MiB, stored in compact form ("[]" when empty).
  // kInvalidArgument: empty "user_id", a section (named by its field) that is
  // not a JSON array or too large.
  virtual Result<Profile> put_profile(const Profile& p, Timestamp now) = 0;
  virtual Result<Profile> get_profile(std::string_view user_id) = 0;  // kNotFound: no profile

  // ---- audit and retention
  // Newest first, optionally of one conversation.
  virtual Result<std::vector<AuditEntry>> list_audit(const AuditQuery& q) = 0;
  // Removes for good every conversation and message soft-deleted before
  // `deleted_before` (and every message of such a conversation), with their
  // attachments and index entries; returns messages + conversations removed.
  // Audited as action "purge", target_type "store", with detail
  // {"messages", "conversations", "deleted_before" (ms since the epoch)}.
  virtual Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit) = 0;
  // Indexes every message not yet in the search index (new or edited);
  // returns how many rows were (re)indexed.
  virtual Result<std::int64_t> flush_search_index() = 0;

  // ---- change log (chat/events.hpp; issue 14)
  // Every method above that changes a conversation or a message appends its
  // events in its own transaction (nothing when it fails or changes nothing):
  //   create_conversation                 conversation.created
  //   create_conversation_with_message    conversation.created, message.created
  //   append_message (created only)       message.created
  //   update_conversation                 conversation.updated
  //   soft_delete_conversation            conversation.deleted
  //   restore_conversation                conversation.restored
  //   clear_conversation                  conversation.cleared (one event, whatever the count)
  //   mark_read (only when the mark or a status moved)  conversation.read
  //   update_message                      message.updated
  //   soft_delete_message                 message.deleted (stored redacted)
  //   restore_message                     message.restored
  // purge removes the events of the rows it removes (a purged conversation's
  // all; a purged message's all but its message.deleted, which holds no text).

  // Events of one conversation with id > `after_id`, oldest first, at most
  // `limit` (1..1000), each showing its row as it is now (messages redacted
  // as chat/events.hpp says), and ending at `budget` (stored_bytes() of each
  // event's message or conversation) like every listing. Does not check that
  // the conversation exists (a deleted one still has its log).
  // reset (events empty) when `after_id` is below the trim floor (the largest
  // id trim_events removed) or above the newest id. kInvalidArgument "after_id"
  // (negative), "limit".
  virtual Result<EventPage> list_events(std::int64_t conversation_id, std::int64_t after_id,
                                        std::int64_t limit, ByteBudget budget = {}) = 0;
  // The newest event id of the store (0 when none was ever written).
  virtual Result<std::int64_t> last_event_id() = 0;
  // Removes every event made before `before` (at most `max_rows` of them,
  // oldest first, so a trim never holds the writer long) and raises the trim
  // floor; returns how many were removed. Removes a prefix in id order: it
  // stops at the first event made at or after `before`. kInvalidArgument
  // "max_rows" (below 1).
  virtual Result<std::int64_t> trim_events(Timestamp before, std::int64_t max_rows = 10'000) = 0;

  // ---- changes made through other Store objects on the same database (issue 13)
  // A database several processes share (chat/postgres_store.hpp) tells each
  // attached store about the changes the others commit, so that long-polls and
  // event streams of one chatd wake for a post made through another. A store
  // whose database only it can open (SQLite: the lock file) never calls the
  // listener and drops what publish_ephemeral sends.
  //
  // Notices carry no data: a listener re-reads by cursor (message id, event
  // id), so a notice lost, merged or delivered twice costs at most a wake-up,
  // never a message. A store does not report its own changes (the service
  // already woke its watchers) nor its own ephemeral notices.
  //
  // The listener runs on a thread of the store, must be quick (wake, queue)
  // and must not call back into the store. Setting a listener replaces the
  // previous one; an empty function removes it. After set_change_listener
  // returns, the previous listener is no longer running and is never called
  // again.
  virtual void set_change_listener(ChangeListener listener) = 0;
  // Sends an ephemeral notice (typing; never stored) for `conversation_id` to
  // the other stores' listeners, as ExternalChange::ephemeral. `payload` is
  // opaque to the store, at most kMaxEphemeralPayloadBytes bytes of UTF-8
  // (kInvalidArgument "payload" beyond). Best effort: kUnavailable when the
  // database cannot be reached; Status::ok and nothing sent for a store whose
  // database is not shared.
  virtual Status publish_ephemeral(std::int64_t conversation_id, std::string_view payload) = 0;

  // ---- seeds 002 / 003: analytics (read-only, on the reader pool, one snapshot each;
  // at most half of the readers, at least one, run them at once, so that
  // other reads always find a connection)
  // The conversations matching `q` and their messages, in a compact form.
  virtual Result<ActivityLog> activity(const ActivityQuery& q) = 0;
  // Aggregates over the live conversations of `kind` (nullopt: every kind).
  virtual Result<ActivityTotals> activity_totals(std::optional<ConversationKind> kind) = 0;
  // The seed 003 dashboard sums over the live conversations of `q.scope`,
  // in one snapshot, in memory bounded by the number of days. kInvalidArgument
  // "days": last_day - first_day + 1 outside 0..366.
  virtual Result<ActivitySummary> activity_summary(const ActivitySummaryQuery& q) = 0;
};

// The factories: chat/sqlite_store.hpp (open_sqlite_store, open_memory_store),
// chat/postgres_store.hpp (open_postgres_store).

}  // namespace chat
