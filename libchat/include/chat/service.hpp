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
//
// `subject` (seed 000 quote chats) names THE conversation of `kind` about a
// subject (a job): one per (kind, subject), shared by every authenticated
// caller, created ownerless and empty the first time it is named, by any
// operation, so that "get or create" is one race-free step (the store's
// unique handle decides between concurrent first uses). The caller must be
// authenticated (kUnauthenticated); an unknown subject answers kNotFound with
// field "subject". Its internal handle contains a '/', which client-chosen
// handles may not, so no client can take it first.
struct ConversationKey {
  enum class By { kId, kUuid, kHandle, kAny, kSubject };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  std::optional<ConversationKind> kind;
  // Seeds 002/003: when true, an ownerless conversation is not found unless
  // the caller is an agent or an admin. For APIs that name conversations by
  // guessable integer ids (seed 003), where "visible to whoever names it"
  // would expose every ownerless customer chat (seed 002) to enumeration.
  bool hide_ownerless = false;

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
  static ConversationKey of_subject(std::string subject_id, ConversationKind k) {
    return {By::kSubject, 0, std::move(subject_id), k};
  }
};

// Names a message by id, by uuid, or by client_id within a conversation.
// With `conversation.kind` set, a message of a conversation of another kind
// is not found (an API reaches only messages of its own kind of threads).
struct MessageKey {
  enum class By { kId, kUuid, kClientId };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  ConversationKey conversation;  // used with kClientId

  static MessageKey of_id(std::int64_t id) { return {By::kId, id, {}, {}}; }
  static MessageKey of_uuid(std::string uuid, std::optional<ConversationKind> k = {}) {
    return {By::kUuid, 0, std::move(uuid), ConversationKey{ConversationKey::By::kId, 0, {}, k}};
  }
  static MessageKey of_client_id(ConversationKey conversation, std::string client_id) {
    return {By::kClientId, 0, std::move(client_id), std::move(conversation)};
  }
};

struct PostResult {
  Message message;
  bool replayed = false;  // an idempotent replay: nothing new was stored
  // The conversation posted to, as read before the post (its counters may not
  // include this message): for APIs that render the thread with the message.
  Conversation conversation;
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
  // Seeds 002/003: when true and `content` equals the content of the newest
  // live non-system message of the conversation, and that message has role
  // user, that message is the user message of this reply and nothing new is
  // stored (the seed 003 client posts the message first, then asks for the
  // AI response with the same text). Ignored when client_id is set.
  bool reuse_latest_user_message = false;
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

// Messages read together with their conversation, for APIs that render the
// thread inside each message (seed 001 embeds the session).
struct ThreadMessages {
  Conversation conversation;
  Page<Message> messages;
};
struct ThreadMessage {
  Conversation conversation;
  Message message;
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
  // Seeds 002/003: the idle gap that starts a new activity session (ChatSession).
  std::chrono::milliseconds session_gap = std::chrono::minutes(30);
  CoachOptions coach;  // seed 004
};

// ---- seeds 002 / 003: support desk (customer widget, agent console, analytics)

// A customer-widget post (seed 002 POST /api/messages/).
struct SupportPost {
  // The conversation uuid as the client sent it. Empty, not a uuid, or naming
  // no support conversation the caller sees: a new conversation is created
  // (callers of role user or anonymous only; agents and admins get kNotFound,
  // field "conversation": they answer existing conversations, they do not
  // open customer chats).
  std::string conversation;
  std::string name;   // contact details, taken when the conversation is created
  std::string email;
  std::string content;
  // Which messages the result lists: those with id > since; nullopt: every
  // live message of the conversation (at most ServiceOptions::max_page, oldest first).
  std::optional<std::int64_t> since;
};

struct SupportPostResult {
  Conversation conversation;
  Message message;                 // the stored message (role user, or agent for agents and admins)
  bool created_conversation = false;
  std::vector<Message> messages;   // chronological, per SupportPost::since
};

// Seed 003 dashboard: figures over the caller's live `support` conversations.
struct DashboardQuery {
  std::int64_t days = 7;  // daily_stats window: today (UTC, by the service clock) and the days - 1 before (1..366)
};

struct DailyStat {
  std::string date;  // YYYY-MM-DD (UTC)
  std::int64_t conversations = 0;  // live conversations created that day
  std::int64_t messages = 0;       // live messages created that day
};

struct AgentActivity {
  std::int64_t agent_id = 0;
  std::string name;              // empty when the agent no longer exists
  std::int64_t message_count = 0;  // live assistant messages in conversations with this agent_id
};

// An activity session of a conversation: a run of live messages in which no
// two consecutive messages are more than ServiceOptions::session_gap apart.
struct ChatSession {
  std::int64_t conversation_id = 0;
  Timestamp session_start{};   // first message
  Timestamp session_end{};     // last message
  std::int64_t messages_count = 0;
  std::int64_t duration_minutes = 0;  // (end - start) rounded down to whole minutes
};

struct Dashboard {
  std::int64_t total_conversations = 0;
  std::int64_t total_messages = 0;
  // Mean seconds from a user message to the reply (assistant or agent) that
  // immediately follows it among the live non-system messages of the same
  // conversation; nullopt when there is no such pair.
  std::optional<double> average_response_time;
  std::optional<AgentActivity> most_active_agent;  // most assistant messages; ties: lowest agent id
  std::vector<DailyStat> daily_stats;              // oldest day first, one entry per day of the window
  std::int64_t total_sessions = 0;
  std::optional<double> average_session_duration;  // minutes (mean of exact durations); nullopt without sessions
};

struct AgentPerformance {
  std::int64_t agent_id = 0;
  std::string name;
  std::int64_t total_conversations = 0;  // live support conversations with this agent_id
  std::int64_t replies = 0;              // live assistant messages in them
  std::int64_t failed_replies = 0;       // of which status failed
  // 100 * (replies - failed_replies) / replies, rounded to 0.1; nullopt without replies.
  std::optional<double> success_rate;
};

struct GlobalAnalytics {
  std::int64_t total_conversations = 0;  // live support conversations, every owner (ownerless included)
  std::int64_t total_messages = 0;       // live messages in them
  std::int64_t users = 0;                // distinct owners (ownerless conversations excluded)
  // Owned conversations / users, rounded to 0.01; 0 without users.
  double average_conversations_per_user = 0;
  std::vector<AgentPerformance> top_performing_agents;  // by total_conversations desc, then replies desc, id; at most 10
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
  // list_messages and get_message that also answer the conversation, read in
  // the same call (same rules, same errors).
  virtual Result<ThreadMessages> list_thread_messages(const Principal& who, const ConversationKey& key,
                                                      MessageQuery q) = 0;
  virtual Result<ThreadMessage> get_thread_message(const Principal& who, const MessageKey& key) = 0;
  // Messages with id > after_id, returned as soon as there are any, or an
  // empty list after `timeout` (capped at ServiceOptions::max_wait).
  virtual Result<std::vector<Message>> wait_for_messages(const Principal& who, const ConversationKey& key,
                                                         std::int64_t after_id,
                                                         std::chrono::milliseconds timeout) = 0;

  // ---- AI replies
  virtual Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r) = 0;
  virtual Result<ReplyResult> reply_stream(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                           const StreamCallback& on_chunk) = 0;
  // The checks reply()/reply_stream() make before storing anything (request
  // fields, conversation visible, writable: kGone when expired or inactive),
  // with nothing stored and no provider call: lets an SSE route answer a
  // plain error before its stream starts. A reply may still fail afterwards
  // (the conversation expiring in between, the provider failing).
  virtual Status check_reply(const Principal& who, const ConversationKey& key, const ReplyRequest& r) = 0;

  // ---- registries
  virtual Result<Agent> put_agent(const Principal& who, Agent a) = 0;  // admin
  virtual Result<Agent> get_agent(const Principal& who, std::int64_t id) = 0;
  virtual Result<std::vector<Agent>> list_agents(const Principal& who) = 0;
  virtual Result<Subject> put_subject(const Principal& who, Subject s) = 0;  // any authenticated caller
  virtual Result<Subject> get_subject(const Principal& who, std::string_view id) = 0;
  virtual Result<Profile> put_profile(const Principal& who, Profile p) = 0;  // the caller's own
  virtual Result<Profile> get_profile(const Principal& who) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q) = 0;  // admin

  // ---- seeds 002 / 003: support desk

  // Seed 002 customer post: appends to the named support conversation, or
  // creates one (see SupportPost) owned by the caller when authenticated,
  // ownerless otherwise. Role user for anonymous and user callers; role agent
  // for agents and admins. Returns the message and the messages per `since`.
  virtual Result<SupportPostResult> post_support_message(const Principal& who, SupportPost p) = 0;
  // Seed 003 dashboard over the caller's own live support conversations
  // (admins too: their own). kInvalidArgument (field "days") outside 1..366.
  virtual Result<Dashboard> analytics_dashboard(const Principal& who, const DashboardQuery& q) = 0;
  // Admin only (kPermissionDenied otherwise): figures over every live support conversation.
  virtual Result<GlobalAnalytics> analytics_global(const Principal& who) = 0;
  // The activity sessions of a visible conversation, oldest first, derived
  // from its live messages at read time (exact under soft deletes).
  virtual Result<std::vector<ChatSession>> list_sessions(const Principal& who, const ConversationKey& key) = 0;
  // Ends every wait_for_messages now (they return an empty list) and makes
  // later ones return at once; everything else keeps working. For a server
  // stopping gracefully. Idempotent, thread-safe.
  virtual void shutdown() noexcept = 0;

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
