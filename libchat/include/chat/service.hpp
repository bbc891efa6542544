// chat/service.hpp: the use cases of chat, and the only thing chatd calls.
//
// ChatService enforces the business rules on top of a Store and an
// LlmProvider:
// - Ownership. A conversation with an owner (user_id) is visible to its owner
//   and to admins; agents also see every `support` conversation. A
//   conversation without an owner (a public session or customer chat) is
//   visible to anyone who names it. What a caller may not see answers
//   kNotFound, never kPermissionDenied, so that ids leak nothing; operations
//   reserved to a role (admin registries, global views) answer
//   kPermissionDenied.
// - Expiry and activity. Posting to a conversation past its expires_at, or
//   deactivated (is_active = false), answers kGone; reading it still works.
// - Soft deletes. Deleted conversations and messages are absent from every
//   read unless a query asks for deleted rows (admins only); restore undoes a
//   delete; purge removes rows deleted longer ago than the retention period.
// - Idempotent posts. A post with a client_id that names a live message of
//   the conversation returns that message (replayed = true) when role and
//   content are the same, and kConflict (field "client_id") when they differ.
// - Replies. reply() and reply_stream() store the user message, build the
//   context (agent system prompt, the conversation's initial_context, then
//   the most recent messages that fit the token budget), call the provider,
//   and store the assistant message with tokens_used and processing_time. A
//   stream cancelled by the caller or failed by the provider stores the
//   assistant message with what was produced and status kFailed.
// - Events. Every change to a conversation wakes wait_for_messages().
//
// Thread safety: a ChatService is safe to use from many threads at once.
// Failure: every operation returns Result; nothing throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/llm.hpp"
#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"
#include "chat/time.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"

namespace chat {

// Names a conversation by its integer id, its uuid, its handle, or any of
// them (`any`: a uuid-shaped key is tried as a uuid first, then as a handle;
// a numeric key as an id last). With `kind` set, a conversation of another
// kind is not found: each API sees only its own kind of threads.
struct ConversationKey {
  enum class By { kId, kUuid, kHandle, kAny };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  std::optional<ConversationKind> kind;

  static ConversationKey of_id(std::int64_t id, std::optional<ConversationKind> k = {}) {
    return {By::kId, id, {}, k};
  }
  static ConversationKey of_uuid(std::string uuid, std::optional<ConversationKind> k = {}) {
    return {By::kUuid, 0, std::move(uuid), k};
  }
  static ConversationKey of_handle(std::string handle, std::optional<ConversationKind> k = {}) {
    return {By::kHandle, 0, std::move(handle), k};
  }
  static ConversationKey of_any(std::string key, std::optional<ConversationKind> k = {}) {
    return {By::kAny, 0, std::move(key), k};
  }
};

// Names a message by id, by uuid, or by client_id within a conversation.
struct MessageKey {
  enum class By { kId, kUuid, kClientId };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  ConversationKey conversation;  // used with kClientId

  static MessageKey of_id(std::int64_t id) { return {By::kId, id, {}, {}}; }
  static MessageKey of_uuid(std::string uuid) { return {By::kUuid, 0, std::move(uuid), {}}; }
  static MessageKey of_client_id(ConversationKey conversation, std::string client_id) {
    return {By::kClientId, 0, std::move(client_id), std::move(conversation)};
  }
};

struct PostResult {
  Message message;
  bool replayed = false;  // an idempotent replay: nothing new was stored
};

struct ReplyRequest {
  // The user's message, stored before the reply. Empty: nothing is stored
  // and the model answers the conversation as it stands.
  std::string content;
  std::string client_id;  // idempotency key of the user message
  std::string metadata = "{}";
  std::optional<std::int64_t> agent_id;  // persona; default: the conversation's agent
  bool include_context = true;           // false: only the system prompt and this message
  std::string model;                     // empty: agent's model, else the service default
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  double processing_time = 0;  // seconds spent in the provider
  double cost = 0;             // from the model price table; 0 for unknown models
};

struct ReplyResult {
  std::optional<Message> user_message;  // absent when the request had no content
  Message assistant_message;
  Usage usage;
  Conversation conversation;  // after the reply (counters updated)
};

// What reply_stream reports with each chunk.
struct StreamEvent {
  std::string_view chunk;
  const Message* user_message = nullptr;  // the stored user message, if any
  std::string_view assistant_uuid;        // the uuid the assistant message will have
};
using StreamCallback = std::function<bool(const StreamEvent& event)>;  // false: cancel

// A model's price per 1,000 tokens.
struct ModelPrice {
  std::string model;
  double prompt_per_1k = 0;
  double completion_per_1k = 0;
};

// ---- seed 004: resume-coach sessions (options) -----------------------------
// Budgets of a coach session's initial_context (see start_coach_session).
struct CoachOptions {
  std::int64_t resume_tokens = 1500;  // the "## Resume" part, truncation mark included
  std::int64_t job_tokens = 1000;     // the "## Job:" part (title + description)
  std::string preamble =
      "You are a career coach. Help the candidate tailor their resume to the job below: point to the "
      "experience and skills that match it, what is missing, and how to phrase it. Base your advice on the "
      "resume and the job description; say so when they do not tell.";
};

struct CoachStart {
  std::string job_id;    // a Subject id (put_subject)
  std::string question;  // required: the first (or next) user message
};

struct CoachStartResult {
  ReplyResult reply;     // reply.conversation is the session, counters updated
  bool created = false;  // true: a new session was opened for this call
};
// ---- end seed 004 -----------------------------------------------------------

struct ServiceOptions {
  std::chrono::milliseconds session_ttl = std::chrono::hours(24);    // default expires_at of sessions
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);  // purge soft-deleted rows after
  std::chrono::milliseconds max_wait = std::chrono::seconds(60);      // cap of wait_for_messages
  std::size_t max_content_bytes = 256 * 1024;
  std::size_t max_metadata_bytes = 16 * 1024;
  std::size_t max_context_bytes = 256 * 1024;  // initial_context
  std::int64_t max_page = 1000;                // largest limit a listing accepts
  std::string default_model = "echo";
  std::string default_system_prompt = "You are a helpful assistant.";
  std::int64_t context_tokens = 8192;  // the model's window used for context
  std::int64_t reply_tokens = 1024;    // reserved for the reply within the window
  std::vector<ModelPrice> prices;
  CoachOptions coach;  // seed 004
};

struct ServiceDeps {
  std::shared_ptr<Store> store;               // required
  std::shared_ptr<LlmProvider> llm;           // null: the echo provider
  std::shared_ptr<Clock> clock;               // null: the system clock
  std::shared_ptr<Logger> logger;             // null: no logging
  std::shared_ptr<TokenCounter> tokens;       // null: the estimating counter
};

class ChatService {
 public:
  virtual ~ChatService() = default;

  // ---- conversations
  virtual Result<Conversation> create_conversation(const Principal& who, NewConversation c) = 0;
  virtual Result<Conversation> get_conversation(const Principal& who, const ConversationKey& key) = 0;
  virtual Result<Page<Conversation>> list_conversations(const Principal& who, ConversationQuery q) = 0;
  virtual Result<Conversation> update_conversation(const Principal& who, const ConversationKey& key,
                                                   const ConversationPatch& patch) = 0;
  virtual Status delete_conversation(const Principal& who, const ConversationKey& key) = 0;
  virtual Result<Conversation> restore_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Soft-deletes every message; returns how many were deleted.
  virtual Result<std::int64_t> clear_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Marks messages up to `up_to_message_id` (0: all so far) as read by the owner.
  virtual Result<Conversation> mark_read(const Principal& who, const ConversationKey& key,
                                         std::int64_t up_to_message_id = 0) = 0;
  // Admin only: removes rows soft-deleted longer ago than the retention.
  virtual Result<std::int64_t> purge(const Principal& who) = 0;

  // ---- messages
  virtual Result<PostResult> post_message(const Principal& who, const ConversationKey& key, NewMessage m) = 0;
  virtual Result<Message> get_message(const Principal& who, const MessageKey& key) = 0;
  virtual Result<Page<Message>> list_messages(const Principal& who, const ConversationKey& key,
                                              MessageQuery q) = 0;
  virtual Result<Message> edit_message(const Principal& who, const MessageKey& key, const MessagePatch& patch) = 0;
  virtual Status delete_message(const Principal& who, const MessageKey& key) = 0;
  virtual Result<Message> restore_message(const Principal& who, const MessageKey& key) = 0;
  virtual Result<Page<SearchHit>> search_messages(const Principal& who, SearchQuery q) = 0;
  // Messages with id > after_id, returned as soon as there are any, or an
  // empty list after `timeout` (capped at ServiceOptions::max_wait).
  virtual Result<std::vector<Message>> wait_for_messages(const Principal& who, const ConversationKey& key,
                                                         std::int64_t after_id,
                                                         std::chrono::milliseconds timeout) = 0;

  // ---- AI replies
  virtual Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r) = 0;
  virtual Result<ReplyResult> reply_stream(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                           const StreamCallback& on_chunk) = 0;

  // ---- registries
  virtual Result<Agent> put_agent(const Principal& who, Agent a) = 0;  // admin
  virtual Result<Agent> get_agent(const Principal& who, std::int64_t id) = 0;
  virtual Result<std::vector<Agent>> list_agents(const Principal& who) = 0;
  virtual Result<Subject> put_subject(const Principal& who, Subject s) = 0;  // any authenticated caller
  virtual Result<Subject> get_subject(const Principal& who, std::string_view id) = 0;
  virtual Result<Profile> put_profile(const Principal& who, Profile p) = 0;  // the caller's own
  virtual Result<Profile> get_profile(const Principal& who) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q) = 0;  // admin

  // ---- seed 004: resume-coach sessions
  // Gets or creates the caller's active coach session for job `s.job_id` and
  // asks it `s.question` (as reply() does). The session is the caller's live
  // conversation of kind coach with subject = job_id (the newest, should there
  // be several). A new session gets an initial_context built from the caller's
  // profile and the job within ServiceOptions::coach budgets (format:
  // coach_context.hpp; metadata {"job_id", "resume_tokens", "job_tokens",
  // "resume_truncated", "job_truncated"}), the job title as its title, and a
  // handle "coach-<hash of user and job>-<n>" that makes creation race-free:
  // two concurrent first starts create one session, both ask in it. A
  // deleted (deactivated) session is never reused. Errors: kUnauthenticated
  // for anonymous callers; kInvalidArgument "job_id" / "question" for empty
  // or oversized input; kNotFound (field "job_id") for an unknown job; the
  // provider's errors as reply() has them (the session and the question stay
  // stored, and the next start continues in that session).
  virtual Result<CoachStartResult> start_coach_session(const Principal& who, CoachStart s) = 0;
  // ---- end seed 004
};

// Fails with kInvalidArgument when deps.store is null.
Result<std::unique_ptr<ChatService>> make_chat_service(ServiceDeps deps, ServiceOptions options = {});

}  // namespace chat
