// chat/types.hpp: the domain model of libchat (DESIGN.md section 3).
//
// Plain value types: copyable, no behaviour beyond small helpers, safe to
// share read-only between threads. One model serves every API: a seed's
// "session", "conversation", "chat session" and "quote chat" are all a
// Conversation told apart by `kind`.
//
// Conventions: optional text is an empty string when absent; optional numbers
// and times are std::optional; metadata-like fields hold JSON text (an object,
// "{}" when empty) that the library validates before it stores it. Times are
// Timestamps (UTC milliseconds, chat/time.hpp).
//
// Vocabulary (one word per concept; the seed words that map to it):
// - Conversation: seed 001 "session", 002 "conversation", 003 "conversation",
//   004 "session" / "chat session", 000 "quote chat".
// - Cursor: a message id. Message ids grow monotonically across the store, so
//   "the messages after cursor N" are those with id > N: MessageQuery::after_id,
//   SupportPost::after_id and wait_for_messages(after_id) (seed 002 `since`).
//   A conversation's read cursor is last_read_message_id (seed 003 `up_to`).
// - Agent, three senses kept apart by their type:
//   `Agent` is an AI persona (seed 003 agent_id: name, system prompt, model);
//   `PrincipalRole::kAgent` is a human support agent calling the service;
//   `Role::kAgent` is a message written by such a human agent. A message
//   written for the AI persona has Role::kAssistant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/time.hpp"

namespace chat {

// Who wrote a message. A human support agent is kAgent; an AI reply is kAssistant.
enum class Role { kUser, kAssistant, kAgent, kSystem };
enum class MessageStatus { kSent, kRead, kStreaming, kComplete, kFailed };
// session: seed 001; support: seeds 002 and 003; coach: seed 004; quote: seed 000.
enum class ConversationKind { kSession, kSupport, kCoach, kQuote };
// The caller's role. kAnonymous is a caller without a token (seeds 001, 002).
enum class PrincipalRole { kAnonymous, kUser, kAgent, kAdmin };

// Lower-case names ("user", "assistant", "streaming", "quote", "admin") and back.
std::string_view to_string(Role r) noexcept;
std::string_view to_string(MessageStatus s) noexcept;
std::string_view to_string(ConversationKind k) noexcept;
std::string_view to_string(PrincipalRole r) noexcept;
std::optional<Role> parse_role(std::string_view s) noexcept;
std::optional<MessageStatus> parse_message_status(std::string_view s) noexcept;
std::optional<ConversationKind> parse_conversation_kind(std::string_view s) noexcept;
std::optional<PrincipalRole> parse_principal_role(std::string_view s) noexcept;

// The authenticated (or anonymous) caller of a service operation.
struct Principal {
  std::string user_id;  // empty for anonymous callers
  PrincipalRole role = PrincipalRole::kAnonymous;

  static Principal anonymous() { return {}; }
  static Principal user(std::string id) { return {std::move(id), PrincipalRole::kUser}; }
  static Principal agent(std::string id) { return {std::move(id), PrincipalRole::kAgent}; }
  static Principal admin(std::string id) { return {std::move(id), PrincipalRole::kAdmin}; }
  bool is_admin() const noexcept { return role == PrincipalRole::kAdmin; }
  bool is_anonymous() const noexcept { return role == PrincipalRole::kAnonymous; }
};

struct Conversation {
  std::int64_t id = 0;
  std::string uuid;
  std::string handle;  // seed 001 session_id; unique among all conversations when set
  ConversationKind kind = ConversationKind::kSupport;
  std::string type = "chat";  // seed 003 conversation_type
  std::string user_id;        // owner; empty for public conversations
  std::string external_user_id;
  std::string name;
  std::string email;
  std::optional<std::int64_t> agent_id;
  std::string subject;  // e.g. the job id of seeds 000 and 004
  std::string title;
  std::string status = "active";
  bool is_archived = false;
  bool is_pinned = false;
  bool is_active = true;
  std::optional<Timestamp> expires_at;
  std::string metadata = "{}";
  std::string initial_context;
  // Maintained by the store, exact under soft deletes.
  std::int64_t total_messages = 0;
  std::int64_t unread_count = 0;  // live non-user messages after last_read_message_id
  std::int64_t total_tokens = 0;  // sum of tokens_used of live messages
  std::int64_t last_read_message_id = 0;
  std::optional<Timestamp> last_message_at;
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> deleted_at;

  bool expired_at(Timestamp now) const noexcept { return expires_at && *expires_at <= now; }
};

struct Attachment {
  std::int64_t id = 0;
  std::int64_t message_id = 0;
  std::string file_name;
  std::string file_type;
  std::int64_t file_size = 0;
  std::string file_path;
  Timestamp created_at{};
};

struct Message {
  std::int64_t id = 0;  // monotonic across the whole store: the cursor (seed 002 `since`)
  std::string uuid;
  std::int64_t conversation_id = 0;
  std::string client_id;  // idempotency key, unique among live messages of a conversation
  Role role = Role::kUser;
  std::string content;
  std::string content_type = "text";
  std::string message_type = "text";
  MessageStatus status = MessageStatus::kSent;
  std::string metadata = "{}";
  std::optional<std::int64_t> tokens_used;
  std::optional<double> processing_time;  // seconds
  std::optional<double> cost;             // currency units of the model price table
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> deleted_at;
  std::vector<Attachment> attachments;
};

// An AI persona (seed 003 agent_id).
struct Agent {
  std::int64_t id = 0;  // 0 on input: the store assigns one
  std::string name;
  std::string system_prompt;  // empty when withheld (system_prompt_hidden)
  std::string model;
  Timestamp created_at{};
  Timestamp updated_at{};
  // The system prompt was withheld from this caller: ChatService shows it to
  // admins only (a persona's prompt is operator configuration, issue 9).
  bool system_prompt_hidden = false;
};

// Something a conversation is about that the chat does not own: a job.
struct Subject {
  std::string id;  // any string: seeds use UUIDs (000) and integers (004)
  std::string title;
  std::string description;
  std::string created_by;
  Timestamp created_at{};
  Timestamp updated_at{};
};

// A user's resume sections (seed 004); each field is a JSON array text.
struct Profile {
  std::string user_id;
  std::string work_history = "[]";
  std::string education = "[]";
  std::string projects = "[]";
  std::string skills = "[]";
  Timestamp updated_at{};
};

// Who deleted, cleared, restored or purged what, and when.
struct AuditEntry {
  std::int64_t id = 0;
  Timestamp at{};
  std::string actor;   // user id, or empty for anonymous callers and the system
  std::string action;  // "message.edit", "message.delete", "message.restore", "conversation.delete",
                       // "conversation.restore", "conversation.clear", "purge"
  std::string target_type;  // "message" or "conversation"
  std::int64_t target_id = 0;
  std::int64_t conversation_id = 0;
  std::string detail = "{}";  // JSON object, e.g. {"deleted_count": 12}
};

// What one edit of a message replaced (Store::list_message_versions): the
// content and metadata as they were, version 1 being the original.
struct MessageVersion {
  std::int64_t message_id = 0;
  std::int64_t version = 0;     // 1, 2, ... in edit order
  std::string content;          // as it was before the edit
  std::string metadata = "{}";  // as it was before the edit
  Timestamp written_at{};       // when this content was written (created or edited)
  Timestamp replaced_at{};      // when the edit replaced it
  std::string replaced_by;      // who edited (user id; empty for anonymous callers)
};

// ---- inputs ---------------------------------------------------------------

struct NewAttachment {
  std::string file_name;
  std::string file_type;
  std::int64_t file_size = 0;
  std::string file_path;
};

struct NewConversation {
  ConversationKind kind = ConversationKind::kSupport;
  std::string uuid;    // generated when empty
  std::string handle;  // none when empty
  std::string type = "chat";
  std::string user_id;  // the service sets it from the principal
  std::string external_user_id;
  std::string name;
  std::string email;
  std::optional<std::int64_t> agent_id;
  std::string subject;
  std::string title;
  std::string status = "active";
  bool is_archived = false;
  bool is_pinned = false;
  std::optional<Timestamp> expires_at;  // sessions: the service defaults it
  std::string metadata = "{}";
  std::string initial_context;
};

// Fields left empty are not changed.
struct ConversationPatch {
  std::optional<std::string> title;
  std::optional<std::string> status;
  std::optional<bool> is_archived;
  std::optional<bool> is_pinned;
  std::optional<bool> is_active;
  std::optional<std::string> metadata;
  std::optional<std::string> initial_context;
  std::optional<std::int64_t> agent_id;
  std::optional<Timestamp> expires_at;
};

// A text's token count and the TokenCounter::counter_id() of the counter
// that made it (issue 11): a Store keeps one beside each message's content so
// that a context window reads counts rather than counting its history again.
struct TokenCount {
  std::int64_t tokens = 0;
  std::string counter;  // TokenCounter::counter_id(), non-empty
};

struct NewMessage {
  std::string uuid;       // generated when empty
  std::string client_id;  // optional idempotency key
  Role role = Role::kUser;
  std::string content;
  std::string content_type = "text";
  std::string message_type = "text";
  MessageStatus status = MessageStatus::kSent;
  std::string metadata = "{}";
  std::optional<std::int64_t> tokens_used;
  std::optional<double> processing_time;
  std::optional<double> cost;
  std::vector<NewAttachment> attachments;
  // The content's token count, kept by the store for context windows
  // (Store::list_context). ChatService sets it; nullopt: not counted (a
  // window counts the content when it reads it).
  std::optional<TokenCount> content_tokens;
  // The agent side of a support conversation (seed 003 sender_type "agent"):
  // the service picks the role from the caller, Role::kAgent for a human
  // agent (principal role agent or admin) and Role::kAssistant for anyone
  // else (writing for the AI persona); `role` is then ignored. A service
  // input only: the store never reads it.
  bool agent_side = false;
};

// Fields left empty are not changed. The message keeps its id and place. A
// patch that sets no field is refused by ChatService::edit_message.
struct MessagePatch {
  std::optional<std::string> content;
  std::optional<std::string> metadata;
  std::optional<MessageStatus> status;
  std::optional<std::int64_t> tokens_used;
  std::optional<double> processing_time;
  std::optional<double> cost;
  // The new content's token count (NewMessage::content_tokens). A patch that
  // changes the content without it drops the stored count.
  std::optional<TokenCount> content_tokens;
};

// ---- queries --------------------------------------------------------------

// The byte budget of one page (issue 9: nothing else bounds the bytes of one
// answer; a page of 1,000 messages of 256 KiB is 256 MB). A listing takes
// items in its order while the sum of their stored_bytes() plus
// per_item_bytes each stays within max_bytes, and always takes the first
// item, so a page is never empty while items remain and a single item larger
// than the budget is still reachable. A page cut by the budget is a shorter
// page: `total` and `has_more` stay those of the query, and the next page
// starts right after the last item returned (offset + items.size(), or the
// last item's id as cursor). The service sets it from
// ServiceOptions::max_page_bytes; a Store applies what it is given.
struct ByteBudget {
  std::size_t max_bytes = 0;       // 0: no budget, only `limit`
  std::size_t per_item_bytes = 0;  // added to each item: an answer repeats a shared object in each (seed 001's session)
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::int64_t total = 0;  // rows matching the query, ignoring limit and offset
  bool has_more = false;   // more rows exist past this page
};

enum class ConversationOrder {
  kNewestFirst,     // created_at descending, then id descending
  kRecentActivity,  // pinned first, then last activity (last message or creation) descending
};

struct ConversationQuery {
  std::optional<ConversationKind> kind;
  std::optional<std::string> user_id;  // owner filter; the service scopes non-admins to themselves
  std::optional<std::string> external_user_id;
  std::optional<std::string> subject;
  std::optional<std::int64_t> agent_id;
  std::optional<bool> is_active;
  std::optional<bool> is_archived;
  std::string search;  // substring of handle, external_user_id or title, without case (chat/text.hpp)
  std::int64_t since_id = 0;  // only conversations with id > since_id
  bool include_deleted = false;
  ConversationOrder order = ConversationOrder::kNewestFirst;
  std::int64_t limit = 50;
  std::int64_t offset = 0;
  ByteBudget budget;  // counts stored_bytes(Conversation)
};

struct MessageQuery {
  std::optional<Role> role;
  std::string search;         // substring of content, without case (chat/text.hpp fold_case)
  std::int64_t after_id = 0;  // the cursor: only messages with id > after_id (seed 002 `since`)
  std::int64_t before_id = 0; // when > 0, only messages with id < before_id
  bool newest_first = false;  // default: chronological (id ascending)
  bool include_system = true;
  bool include_deleted = false;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
  ByteBudget budget;  // counts stored_bytes(Message)
};

struct SearchQuery {
  std::string text;  // plain words; any punctuation or SQL-ish text is just text (rule: chat/text.hpp)
  std::optional<std::int64_t> conversation_id;
  std::optional<ConversationKind> kind;
  std::optional<std::string> user_id;  // owner scope; the service sets it for non-admins
  std::int64_t limit = 20;
  std::int64_t offset = 0;
  ByteBudget budget;  // counts stored_bytes(Message) of each hit
};

struct SearchHit {
  Message message;
  double score = 0;  // larger is better
};

// The measure of ByteBudget, in bytes: the caller-supplied text a listing
// renders (a message's content, metadata and client_id; a conversation's
// title, metadata, initial_context and its other free-text fields), not the
// fixed-size fields or JSON escaping, which add a bounded amount per item.
std::size_t stored_bytes(const Message& m) noexcept;
std::size_t stored_bytes(const Conversation& c) noexcept;

}  // namespace chat
