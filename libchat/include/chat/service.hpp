// chat/service.hpp: the use cases of chat, and the only thing chatd calls.
//
// ChatService enforces the business rules on top of a Store and an
// LlmProvider:
// - Principals. A caller that is not anonymous must have a user_id: every
//   operation answers kUnauthenticated ("the caller has no user id") first
//   otherwise. An anonymous caller's user_id is ignored.
// - Ownership. A conversation with an owner (user_id) is visible to its owner
//   and to admins; human agents (PrincipalRole::kAgent) also see every
//   `support` conversation. A conversation without an owner (a public session
//   or customer chat) is visible to anyone who names it by a capability (uuid,
//   handle, subject); by its guessable integer id only to agents and admins
//   (chat/keys.hpp). What a caller may not see answers kNotFound, never
//   kPermissionDenied, so that ids leak nothing; operations reserved to a
//   role (admin registries, global views) answer kPermissionDenied.
// - Expiry and activity. Posting, replying or editing in a conversation past
//   its expires_at, or deactivated (is_active = false), answers kGone;
//   reading, updating, deleting, restoring, clearing and marking read still
//   work (an owner can clean up or extend a session).
// - Soft deletes. Deleted conversations and messages are absent from every
//   read unless a query asks for deleted rows (admins only: kPermissionDenied
//   otherwise); restore undoes a delete (restoring a live row answers it
//   unchanged); purge removes rows deleted longer ago than the retention.
//   Deletes, restores, clears and purges write audit entries.
// - Idempotent posts. A post with a client_id that names a live message of
//   the conversation returns that message (replayed = true) when role and
//   content are the same, and kConflict (field "client_id") when they differ.
// - Events. Every change to a conversation is in the store's change log
//   (chat/events.hpp) and wakes wait_for_messages() and the event streams.
// - Input. Text is valid UTF-8 within the byte limits of ServiceOptions;
//   metadata is a JSON object. A bad field answers kInvalidArgument naming the
//   field by its C++ name ("content", "client_id", ...); layers above rename it.
//
// Vocabulary: chat/types.hpp (conversation, cursor, the three senses of
// "agent"); chat/keys.hpp (keys and not-found wording); chat/reply.hpp,
// chat/analytics.hpp, chat/support.hpp, chat/coach.hpp (seed words of each
// concern).
//
// Thread safety: a ChatService is safe to use from many threads at once.
// Failure: every operation returns Result; nothing throws. An unexpected
// failure inside the service answers kInternal ("internal error") and is logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "chat/analytics.hpp"
#include "chat/coach.hpp"
#include "chat/events.hpp"
#include "chat/keys.hpp"
#include "chat/llm.hpp"
#include "chat/logger.hpp"
#include "chat/reply.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"
#include "chat/support.hpp"
#include "chat/time.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"

namespace chat {

struct PostResult {
  Message message;
  bool replayed = false;  // an idempotent replay: nothing new was stored
  // The conversation posted to, as read before the post (its counters may not
  // include this message): for APIs that render the thread with the message.
  Conversation conversation;
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

// What an open EventStream calls (on the thread of whoever made the change,
// after it committed): both must be quick (enqueue, notify) and must not call
// the service or the stream. Either may be empty.
struct EventListener {
  // New events may be readable with EventStream::read(). Spurious calls
  // happen; a change never goes without one.
  std::function<void()> changed;
  // An ephemeral event (typing) of the streamed conversation, complete.
  std::function<void(const Event& event)> ephemeral;
};

// One caller's live view of one conversation's change log
// (ChatService::open_event_stream). A cursor that starts where the caller
// asked and moves past every event read(): replay and live delivery are the
// same reads, so the switch from one to the other has no gap and no
// duplicate. Destroying the stream unsubscribes: once the destructor
// returned, the listener is not running and will not run again. A stream
// must not outlive the service that opened it.
// Thread safety: one thread at a time per stream (distinct streams: any).
class EventStream {
 public:
  virtual ~EventStream() = default;
  // The conversation as it was when the stream opened.
  virtual const Conversation& conversation() const noexcept = 0;
  // The id of the last event read (or of the cursor the stream opened at).
  // A read that reached the end of the log also moves it to the log's newest
  // id (the ids between are other conversations'), so that an idle stream's
  // cursor never falls out of the log's retention: resuming from cursor()
  // misses nothing and repeats nothing.
  virtual std::int64_t cursor() const noexcept = 0;
  // The next events after the cursor, at most `limit` (1..1000), ending
  // after the event whose row's stored_bytes() bring the page to `max_bytes`
  // (0: no byte bound; the first event is always taken, so one larger than
  // the bound still comes), and moves the cursor past them: a caller that
  // writes what it reads holds one bounded page at a time (a replay of many
  // large messages). Checks again that the conversation is visible to the
  // caller: once it is not (deleted, after its conversation.deleted was read;
  // given to another owner), answers not visible (kNotFound), and the caller
  // should end the stream. reset: the cursor fell out of the log, or was
  // never in it (after_id beyond the newest event at open): the cursor then
  // moves to the log's newest id (chat/events.hpp). kInvalidArgument "limit".
  virtual Result<EventPage> read(std::int64_t limit, std::size_t max_bytes = 0) = 0;
};

// Bounds on the service's model calls (issue 9: a paid, slow dependency
// reached by anonymous callers). Applied by the service to whatever
// LlmProvider it has, through CompletionRequest::stop, to every reply,
// streaming or not, of every seed (reply, reply_stream, start_coach_session).
struct ModelCallBounds {
  // Provider calls in flight at once, streaming and not. A reply beyond it
  // answers kResourceExhausted ("too many model calls in flight") at once,
  // before anything is stored (no user message, no conversation). 0: no bound.
  // Each call holds a thread of its caller and a connection to the model
  // server, which has its own limit (a llama.cpp or Ollama server runs a few
  // requests at a time and queues the rest).
  int max_concurrent = 64;
  // The longest a whole call may take; past it the call is cancelled and
  // answers kDeadlineExceeded (a stream that had produced text stores it with
  // status failed). Bounds a model that trickles bytes. 0: no deadline.
  std::chrono::milliseconds deadline = std::chrono::minutes(5);
  // The longest wait for a stream's first chunk of text, and for the whole
  // answer of a non-streaming call (whose caller gets its first byte only
  // with the answer): kDeadlineExceeded past it. Below the 60 s read timeout
  // that reverse proxies commonly allow (nginx proxy_read_timeout), so that a
  // client behind one gets this clear error, not the proxy's. Capped by
  // `deadline`. 0: no such wait (only the deadline).
  std::chrono::milliseconds first_chunk_timeout = std::chrono::seconds(50);
  // The largest reply kept, in bytes of UTF-8 (never cutting a character):
  // at the cap the call stops and the reply is what came before it, stored
  // complete with finish_reason "length" (as for max_tokens). Default: the
  // default max_content_bytes, since a reply is stored as a message. 0: no cap.
  std::size_t max_reply_bytes = 256 * 1024;
  // max_tokens of a request that sets none (ReplyRequest::max_tokens); 0:
  // none is sent and the model server's own default applies.
  std::int64_t default_max_tokens = 1024;
};

struct ServiceOptions {
  std::chrono::milliseconds session_ttl = std::chrono::hours(24);    // default expires_at of seed 001 sessions
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);  // purge soft-deleted rows after
  // The one cap of wait_for_messages (seed 002 `wait=`, docs/seed-002.md: 30 s).
  std::chrono::milliseconds max_wait = std::chrono::seconds(30);
  std::size_t max_content_bytes = 256 * 1024;
  std::size_t max_metadata_bytes = 16 * 1024;
  std::size_t max_context_bytes = 256 * 1024;  // initial_context, system prompts, descriptions
  std::int64_t max_page = 1000;                // largest limit a listing accepts
  // The byte budget of one page of every listing (ByteBudget, chat/types.hpp;
  // issue 9): bytes of stored text (stored_bytes(): content, metadata and
  // other free text; for seed 001's messages also the session repeated in
  // each). A page holds at most `limit` items and ends earlier, keeping at
  // least one, when the next item would pass it; total and has_more are
  // unchanged and the next page continues right after its last item. 4 MiB:
  // an answer of a few MiB of JSON, while 1,000 messages at the content limit
  // would be 256 MiB. 0: no budget.
  std::size_t max_page_bytes = 4 * 1024 * 1024;
  std::string default_model = "echo";
  std::string default_system_prompt = "You are a helpful assistant.";
  std::int64_t context_tokens = 8192;  // the model's window used for context
  std::int64_t reply_tokens = 1024;    // reserved for the reply within the window
  std::vector<ModelPrice> prices;
  // Seeds 002/003: the idle gap that starts a new activity period (ActivityPeriod).
  std::chrono::milliseconds activity_gap = std::chrono::minutes(30);
  CoachOptions coach;  // seed 004
  // Whether anonymous callers may list conversations and search messages
  // (the ownerless ones), as seed 001's document does. Off: the capability (uuid
  // or handle) is the only way to an ownerless conversation, and an anonymous
  // listing is kUnauthenticated. Only for trusted networks (issue 9).
  bool anonymous_listing = false;
  // Seed 001's own rule for ownerless sessions: whoever holds the session's
  // capability may post messages with role assistant or system, as the seed's
  // front ends do (they store the model's answer themselves). Off (the
  // default), those roles need an agent or admin token there (kPermissionDenied),
  // because anyone holding a public session's capability could otherwise plant
  // a fake answer ("your account is locked, log in at ..."); docs/seed-001.md.
  // Other conversations and the role agent are unaffected. chatd:
  // --seed001-client-roles. Only for deployments whose sessions' readers trust
  // every capability holder.
  bool session_client_roles = false;
  ModelCallBounds model_calls;  // issue 9
  // How long the change log keeps events (chat/events.hpp; issue 14): a
  // stream resumed from an older cursor gets a reset. The service trims the
  // log as it writes, at most once a minute. 0: never trimmed.
  std::chrono::milliseconds event_retention = std::chrono::hours(24 * 7);
};

// The bounds a caller of the service must respect (ChatService::limits()):
// layers above use them rather than repeating the numbers.
struct ServiceLimits {
  std::int64_t max_page = 0;             // largest `limit` any listing accepts (ServiceOptions::max_page)
  std::chrono::milliseconds max_wait{};  // wait_for_messages caps its timeout here (ServiceOptions::max_wait)
  std::size_t max_page_bytes = 0;        // byte budget of one page (ServiceOptions::max_page_bytes); 0: none
};

struct ServiceDeps {
  std::shared_ptr<Store> store;          // required
  std::shared_ptr<LlmProvider> llm;      // null: the echo provider
  std::shared_ptr<Clock> clock;          // null: the system clock
  std::shared_ptr<Logger> logger;        // null: no logging
  std::shared_ptr<TokenCounter> tokens;  // null: the estimating counter
};

// Errors every operation may answer besides those it lists: kUnauthenticated
// for a non-anonymous caller without a user_id; kUnavailable when the store is
// busy; kInternal for an unexpected failure. "Not visible" below means
// kNotFound with the key's not-found message (chat/keys.hpp). Listings take
// `limit` in 1..max_page and `offset` >= 0 (kInvalidArgument "limit" /
// "offset" otherwise), and every listing (wait_for_messages too) ends its page
// at ServiceOptions::max_page_bytes: a query's own `budget` is replaced.
class ChatService {
 public:
  virtual ~ChatService() = default;

  // The bounds of this service (max_page, max_wait). Never fails.
  virtual ServiceLimits limits() const noexcept = 0;

  // ---- conversations

  // Creates a conversation owned by the caller (anonymous: ownerless; an admin
  // may name another user_id). kSession: a handle "sess_<24 hex>" when none is
  // given, expires_at defaults to now + session_ttl. Errors: kUnauthenticated
  // for anonymous callers creating coach or quote conversations;
  // kInvalidArgument "uuid", "handle", "type", "status", "title", "metadata",
  // "initial_context", "expires_at" (not in the future), ...; kNotFound
  // "agent_id" (unknown persona), "subject" (unknown job, coach and quote
  // kinds); kConflict "handle" / "uuid" when taken.
  virtual Result<Conversation> create_conversation(const Principal& who, NewConversation c) = 0;
  // The conversation `key` names. Errors: not visible.
  virtual Result<Conversation> get_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Conversations matching `q`, scoped by role: a user sees their own; an
  // agent with q.kind = support every support conversation, with q.kind =
  // session the ownerless sessions, otherwise their own; anonymous callers ownerless ones, and only with
  // ServiceOptions::anonymous_listing (else kUnauthenticated: an ownerless
  // conversation is reached by its capability alone); admins the query as given.
  // Errors: kInvalidArgument "limit", "offset", "since_id", "search" (breaks
  // chat::check_filter_text: a control character such as NUL, not UTF-8,
  // longer than 1024 bytes); kPermissionDenied for include_deleted by a non-admin.
  // `search` matches without case by chat::fold_case (Unicode).
  virtual Result<Page<Conversation>> list_conversations(const Principal& who, ConversationQuery q) = 0;
  // Changes the fields the patch sets. Errors: not visible; kInvalidArgument
  // "title", "status", "initial_context", "metadata"; kNotFound "agent_id".
  virtual Result<Conversation> update_conversation(const Principal& who, const ConversationKey& key,
                                                   const ConversationPatch& patch) = 0;
  // Soft-deletes the conversation (audited); seed 004 "deactivate". Errors: not visible.
  virtual Status delete_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Undoes a soft delete (audited); a live conversation is answered unchanged.
  // Errors: not visible (deleted conversations are visible to this call).
  virtual Result<Conversation> restore_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Soft-deletes every message (audited); returns how many were deleted. Errors: not visible.
  virtual Result<std::int64_t> clear_conversation(const Principal& who, const ConversationKey& key) = 0;
  // Moves the owner's read cursor: messages with id <= last_read_message_id
  // (0: every message so far) count as read, and unread_count drops. Errors:
  // not visible; kInvalidArgument "last_read_message_id" when negative;
  // kPermissionDenied when the caller sees the conversation but is not its
  // owner (an agent reading a customer's chat must not clear its count;
  // admins may; anyone may for ownerless conversations).
  virtual Result<Conversation> mark_read(const Principal& who, const ConversationKey& key,
                                         std::int64_t last_read_message_id = 0) = 0;
  // Removes for good the rows soft-deleted longer ago than the retention;
  // returns how many rows went. Errors: kPermissionDenied for non-admins.
  virtual Result<std::int64_t> purge(const Principal& who) = 0;

  // ---- messages

  // Appends a message (idempotent by client_id, see above). Role rules:
  // kUser is open to whoever sees the conversation; kAgent needs a human agent
  // or an admin. In an ownerless session (reached by its capability alone)
  // kAssistant and kSystem need an agent or an admin, so that no capability
  // holder plants a fake answer; elsewhere kAssistant needs an authenticated
  // caller who sees the conversation, kSystem an admin or an authenticated
  // caller in an ownerless quote conversation. NewMessage::agent_side picks
  // kAgent or kAssistant from the caller. Errors: not visible; kInvalidArgument "content" (empty or
  // too long), "metadata", "client_id", "uuid", ...; kPermissionDenied for a
  // role the caller may not write; kGone when expired or inactive (a replay of
  // a post that succeeded before is still answered); kConflict "client_id".
  virtual Result<PostResult> post_message(const Principal& who, const ConversationKey& key, NewMessage m) = 0;
  // Errors: kNotFound "message not found" when unknown or not visible.
  virtual Result<Message> get_message(const Principal& who, const MessageKey& key) = 0;
  // The conversation's messages per `q` (cursor: q.after_id). Errors: not
  // visible; kInvalidArgument "limit", "offset", "after_id", "before_id",
  // "search" (as for list_conversations); kPermissionDenied for
  // include_deleted by a non-admin.
  virtual Result<Page<Message>> list_messages(const Principal& who, const ConversationKey& key,
                                              MessageQuery q) = 0;
  // Changes the fields the patch sets (content, metadata, status, usage).
  // Errors: kInvalidArgument "content" ("content: content or metadata is
  // required") when the patch sets no field, "content" when empty or too
  // long, "metadata", ...; message not visible; kPermissionDenied when the
  // caller may not write the message's role; kGone when the conversation is
  // expired or inactive. Every edit is on the record: the store keeps the
  // content and metadata it replaced as a MessageVersion and audits it as
  // "message.edit" with the caller and the time (Store::update_message).
  virtual Result<Message> edit_message(const Principal& who, const MessageKey& key, const MessagePatch& patch) = 0;
  // What the edits of a message replaced, oldest first (empty: never
  // edited). Admins only, like the audit trail it completes: an edit often
  // removes something on purpose. Soft-deleted messages included.
  // Errors: kPermissionDenied for non-admins; message not found.
  virtual Result<std::vector<MessageVersion>> list_message_versions(const Principal& who, const MessageKey& key) = 0;
  // Soft-deletes the message (audited). Errors: message not visible.
  virtual Status delete_message(const Principal& who, const MessageKey& key) = 0;
  // Undoes a soft delete (audited); a live message is answered unchanged. Errors: message not visible.
  virtual Result<Message> restore_message(const Principal& who, const MessageKey& key) = 0;
  // Full-text search over the live messages the caller sees, best first.
  // With q.conversation_id the conversation must be visible (by integer id).
  // Errors: kInvalidArgument "text" (blank, or breaks chat::check_filter_text),
  // "query" (the search engine cannot parse it), "limit", "offset";
  // kUnauthenticated for an anonymous search across conversations unless
  // ServiceOptions::anonymous_listing (as for list_conversations).
  virtual Result<Page<SearchHit>> search_messages(const Principal& who, SearchQuery q) = 0;
  // list_messages and get_message that also answer the conversation, read in
  // the same call (same rules, same errors).
  virtual Result<ThreadMessages> list_thread_messages(const Principal& who, const ConversationKey& key,
                                                      MessageQuery q) = 0;
  virtual Result<ThreadMessage> get_thread_message(const Principal& who, const MessageKey& key) = 0;
  // The messages after the cursor (id > after_id, at most max_page, oldest
  // first), returned as soon as there are any, or an empty list after
  // `timeout` (capped at ServiceOptions::max_wait, so callers pass the
  // client's value as it is), at shutdown(), or as soon as `stop` is
  // requested (the caller went away: issue 9, abandoned waits). Errors: not
  // visible (also when the conversation goes away during the wait);
  // kInvalidArgument "timeout" (negative), "after_id" (negative).
  virtual Result<std::vector<Message>> wait_for_messages(const Principal& who, const ConversationKey& key,
                                                         std::int64_t after_id, std::chrono::milliseconds timeout,
                                                         std::stop_token stop = {}) = 0;

  // ---- live updates (chat/events.hpp; issue 14)

  // Opens a stream of the change log of the conversation `key` names, if
  // visible to `who`, at `after_id` (events after it are replayed first:
  // SSE Last-Event-ID), or at the log's newest event when nullopt (live only).
  // Deleted conversations are not visible (an admin's too: streams show live
  // rows). `listener` is called as EventListener says until the stream is
  // destroyed. Errors: not visible; kInvalidArgument "after_id" (negative).
  // An `after_id` outside the log is not an error: the first read() answers
  // reset. One beyond the newest event (never issued by this store) is not
  // kept: the stream opens at the newest event (cursor()), so ids never go
  // backwards after it.
  virtual Result<std::unique_ptr<EventStream>> open_event_stream(const Principal& who, const ConversationKey& key,
                                                                 std::optional<std::int64_t> after_id,
                                                                 EventListener listener) = 0;
  // Tells the streams open on the conversation that the caller is typing (or
  // stopped: `active` false); stored nowhere. The event's Typing names the
  // caller (user_id; role kAgent for agents and admins, kUser otherwise).
  // Errors: not visible; kGone when the conversation is expired or inactive.
  virtual Status send_typing(const Principal& who, const ConversationKey& key, bool active) = 0;

  // ---- AI replies (chat/reply.hpp)

  // Stores the user message, asks the provider, stores the assistant message
  // (metadata: model, prompt_tokens, completion_tokens, finish_reason,
  // reply_to). A retry with the client_id of a stored, answered user message
  // returns the stored answer without calling the provider. Errors: not
  // visible; kInvalidArgument "content" (too long, too large for the context
  // window, or empty with a client_id), "client_id", "metadata", "model",
  // "max_tokens" (not positive), "temperature" (outside 0..2); kNotFound
  // "agent_id"; kGone; kConflict "client_id"; kResourceExhausted when
  // ServiceOptions::model_calls.max_concurrent calls are in flight (nothing
  // stored); kUnavailable "the model call was cancelled" when r.stop is
  // requested or the service shuts down during the call; kDeadlineExceeded
  // past model_calls' deadline or first_chunk_timeout; the provider's errors
  // (kUpstream, kUnavailable, kDeadlineExceeded). After the refusals above
  // the user message stays stored, and no answer is stored when the provider
  // produced nothing. A reply cut at model_calls.max_reply_bytes is a
  // success (finish_reason "length"). A request naming no max_tokens is sent
  // with model_calls.default_max_tokens.
  virtual Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r) = 0;
  // reply() delivering the answer chunk by chunk; on_chunk returning false (or
  // throwing) cancels. A cancelled or failed stream stores what was produced
  // with status kFailed; a retried, answered request gets the stored answer as
  // one chunk. Same errors as reply().
  virtual Result<ReplyResult> reply_stream(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                           const StreamCallback& on_chunk) = 0;
  // The checks reply()/reply_stream() make before storing anything (request
  // fields, conversation visible, persona known, writable: kGone when expired
  // or inactive; kResourceExhausted when model_calls.max_concurrent calls are
  // in flight, kUnavailable after shutdown(): a snapshot, nothing is
  // reserved), with nothing stored and no provider call: lets an SSE route
  // answer a plain error before its stream starts. A reply may still fail
  // afterwards (the conversation expiring in between, the model calls
  // filling up, the provider failing).
  virtual Status check_reply(const Principal& who, const ConversationKey& key, const ReplyRequest& r) = 0;

  // ---- registries

  // Creates or replaces an AI persona. Errors: kPermissionDenied for
  // non-admins; kInvalidArgument "id" (negative), "name" (required),
  // "system_prompt", "model".
  virtual Result<Agent> put_agent(const Principal& who, Agent a) = 0;
  // Personas as `who` may see them: an admin sees the system prompt; anyone
  // else gets it empty with Agent::system_prompt_hidden set.
  // Errors: kNotFound "agent not found".
  virtual Result<Agent> get_agent(const Principal& who, std::int64_t id) = 0;
  virtual Result<std::vector<Agent>> list_agents(const Principal& who) = 0;
  // Creates or replaces a subject (a job); an empty id gets a uuid. Errors:
  // kUnauthenticated for anonymous callers; kInvalidArgument "id", "title"
  // (required), "description"; kConflict "id" when another user created it
  // (admins may overwrite).
  virtual Result<Subject> put_subject(const Principal& who, Subject s) = 0;
  // Errors: kUnauthenticated for anonymous callers; kNotFound "subject not found".
  virtual Result<Subject> get_subject(const Principal& who, std::string_view id) = 0;
  // Replaces the caller's own profile (each section a JSON array). Errors:
  // kUnauthenticated for anonymous callers; kInvalidArgument "work_history",
  // "education", "projects", "skills".
  virtual Result<Profile> put_profile(const Principal& who, Profile p) = 0;
  // The caller's own profile; an empty one when none was stored. Errors:
  // kUnauthenticated for anonymous callers.
  virtual Result<Profile> get_profile(const Principal& who) = 0;
  // Errors: kPermissionDenied for non-admins; kInvalidArgument "limit", "offset".
  virtual Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q) = 0;

  // ---- seeds 002 / 003: support desk (chat/support.hpp, chat/analytics.hpp)

  // Seed 002 customer post: appends to the named support conversation, or
  // creates one (see SupportPost) owned by the caller when authenticated,
  // ownerless otherwise. Role user for anonymous and user callers; role agent
  // for agents and admins. Returns the message and the messages after the
  // cursor p.after_id. Errors: kInvalidArgument "content", "after_id"
  // (negative), "name", "email"; kNotFound "conversation" for agents and
  // admins naming no conversation; kGone; the error of p.admit_new_conversation, as is.
  virtual Result<SupportPostResult> post_support_message(const Principal& who, SupportPost p) = 0;
  // Seed 003 dashboard over the caller's own live support conversations
  // (admins too: their own). Errors: kUnauthenticated for anonymous callers;
  // kInvalidArgument "days" outside 1..366.
  virtual Result<Dashboard> analytics_dashboard(const Principal& who, const DashboardQuery& q) = 0;
  // Figures over every live support conversation. Errors: kUnauthenticated
  // for anonymous callers; kPermissionDenied for non-admins.
  virtual Result<GlobalAnalytics> analytics_global(const Principal& who) = 0;
  // The activity periods (seed 003 "sessions") of a visible conversation,
  // oldest first, derived from its live messages at read time (exact under
  // soft deletes). Errors: not visible.
  virtual Result<std::vector<ActivityPeriod>> list_activity_periods(const Principal& who,
                                                                    const ConversationKey& key) = 0;
  // Ends every wait_for_messages now (they return an empty list) and makes
  // later ones return at once; cancels every model call in flight (their
  // sockets are shut down; they answer kUnavailable "the model call was
  // cancelled", a stream storing what it had produced as failed) and refuses
  // later ones the same way; everything else keeps working. For a server
  // stopping gracefully: returns without waiting for the calls to unwind.
  // Idempotent, thread-safe.
  virtual void shutdown() noexcept = 0;

  // ---- seed 004: resume-coach sessions (chat/coach.hpp)

  // Gets or creates the caller's active coach session for job `s.job_id` and
  // asks it `s.question` (as reply() does). The session is the caller's live
  // conversation of kind coach with subject = job_id (the newest, should there
  // be several). A new session gets an initial_context built from the caller's
  // profile and the job within ServiceOptions::coach budgets, the job title as
  // its title, and a handle "coach-<hash of user and job>-<n>" that makes
  // creation race-free: two concurrent first starts create one session, both
  // ask in it. A deleted (deactivated) session is never reused. Errors:
  // kUnauthenticated for anonymous callers; kInvalidArgument "job_id" /
  // "question" for empty or oversized input; kNotFound (field "job_id") for an
  // unknown job; the provider's errors as reply() has them (the session and
  // the question stay stored, and the next start continues in that session).
  virtual Result<CoachStartResult> start_coach_session(const Principal& who, CoachStart s) = 0;
  // The coach session `key` names (its kind is forced to coach), with the
  // figures its context was built with. Errors: kUnauthenticated for
  // anonymous callers; not visible (unknown, deactivated, another user's).
  virtual Result<CoachSession> get_coach_session(const Principal& who, const ConversationKey& key) = 0;
  // The caller's own active coach sessions, most recent activity first (admins
  // too: their own). Errors: kUnauthenticated; kInvalidArgument "limit", "offset".
  virtual Result<Page<CoachSession>> list_coach_sessions(const Principal& who, const CoachSessionQuery& q) = 0;
  // The session's initial_context and its resume and job parts. Errors: as get_coach_session.
  virtual Result<CoachContextSections> get_coach_context(const Principal& who, const ConversationKey& key) = 0;
};

// Fails with kInvalidArgument when deps.store is null ("store") or an option
// is out of range ("max_page" < 1, "context_tokens" <= reply_tokens,
// "session_ttl" <= 0, "retention" < 0, "max_wait" < 0, "model_calls" for a
// negative bound).
Result<std::unique_ptr<ChatService>> make_chat_service(ServiceDeps deps, ServiceOptions options = {});

}  // namespace chat
