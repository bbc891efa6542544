// ChatService: the business rules of chat on top of a Store and an LlmProvider.
//
// Rules chosen where chat/service.hpp is silent (keep this list in sync with
// the report of the issue that introduced them):
//
// Principals
// - A non-anonymous principal without a user_id is refused (kUnauthenticated).
//   An anonymous principal's user_id is ignored.
// - Creating coach or quote conversations, put_subject, get_subject,
//   put_profile and get_profile need an authenticated caller
//   (kUnauthenticated for anonymous ones).
// Visibility (kNotFound when not visible, with the same message as a missing row)
// - admin: everything; owner: own; agent: own + every `support` conversation;
//   anyone: ownerless conversations.
// Listing (list_conversations)
// - admin: the query as given. user: scoped to their own conversations.
//   agent: with kind == support, every support conversation (user_id filter
//   kept if given); otherwise their own. anonymous: ownerless conversations
//   only (the store query gets user_id = "", which means "no owner").
// Search (search_messages)
// - with conversation_id: the conversation must be visible; the search is
//   scoped to it. Without: the same scoping as listing.
// Writes
// - Posting, replying and editing need a writable conversation (kGone when
//   is_active is false or expires_at has passed). An idempotent replay of a
//   post that already succeeded is still answered after expiry. A post checks
//   visibility, role and writability inside the store's write transaction
//   (AppendPrecondition), so a conversation deleted, deactivated or expired
//   after the caller named it never takes the message. Deleting,
//   restoring, clearing, marking read and updating work on expired ones (so
//   that an owner can clean up or extend a session).
// - Role kAgent messages (posted or edited) need a principal with role agent or
//   admin; role kSystem needs an admin, or an ownerless session or quote
//   conversation (seed 001 posts system rows anonymously). kUser and
//   kAssistant are open to anyone who sees the conversation (seed 000 clients
//   store assistant messages themselves). Otherwise kPermissionDenied.
// - Anyone who sees a conversation may update, delete, restore or clear it and
//   delete or restore its messages. include_deleted on any query is admin only.
// - Restoring a row that is not deleted answers it unchanged (no audit entry).
// - mark_read is the owner's (or an admin's; anyone's for ownerless
//   conversations): an agent who sees a support conversation gets
//   kPermissionDenied, so that reading it does not clear the customer's count.
// Creation
// - Owner: the caller's user_id; an admin may name another user_id (empty: the
//   admin). Anonymous callers create ownerless conversations.
// - kSession without a handle gets "sess_" + 24 hex characters; its expires_at
//   defaults to now + session_ttl. A given expires_at must be in the future.
// - agent_id must name an agent (kNotFound, field "agent_id"); a coach or
//   quote conversation's subject, when given, must name a subject (kNotFound,
//   field "subject"): seeds 000 and 004 answer 404 for an unknown job.
// Replies
// - Idempotent retries: a reply whose client_id names a stored user message
//   with the same content, answered by a complete assistant message after it
//   (before the next user message), returns that answer without calling the
//   provider. Two concurrent first attempts with one client_id may both
//   generate (the second one's user message is the replay of the first).
//   reply_stream's retry delivers the stored answer as a single chunk.
// - The context is built before anything is stored, so a message too large for
//   the window writes nothing. At most 1,000 recent messages are considered.
// - The assistant metadata holds model, prompt_tokens, completion_tokens,
//   finish_reason and reply_to (the user message id, when there is one).
// - Processing time is wall time (steady clock) spent in the provider.
// Events
// - Every change publishes on its conversation after the store committed it.
//   purge publishes nothing: it removes rows that were already invisible.
// Subject conversations (ConversationKey::of_subject, seed 000 quote chats)
// - Handle "<kind>/<subject id>"; ownerless; title copied from the subject;
//   created by whichever operation names it first (reads included), so that
//   reading an empty chat and posting to it agree on one row. A soft-deleted
//   one is not re-created: the key answers kNotFound until it is restored.
// Registries
// - put_subject upserts; an existing subject created by someone else cannot be
//   overwritten except by an admin (kConflict, field "id").
// - get_profile of a user without one answers an empty profile.
// Seeds 002 / 003 (support desk)
// - post_support_message: a conversation string that is not a uuid, or names
//   no support conversation the caller sees (unknown, deleted, another
//   user's), creates a new one: owned by an authenticated user, ownerless
//   for anonymous callers. Agents and admins post role agent and never create
//   (kNotFound, field "conversation"). name/email are taken at creation only.
// - reuse_latest_user_message: compares with the newest live non-system message.
// - Analytics count live rows of live support conversations only. The dashboard
//   is the caller's own conversations; most_active_agent counts assistant
//   messages (not human agent ones) by the conversation's agent_id. Response
//   pairs skip system messages. Sessions are derived from live messages at
//   read time (ServiceOptions::session_gap), never stored.
// - shutdown(): wakes and ends every wait_for_messages (EventHub::shutdown).
// Coach sessions (seed 004; start_coach_session)
// - Deactivating a session is delete_conversation (a soft delete with its audit
//   entry): the session leaves every read, and the next start opens a new one.
// - The handle "coach-<first 128 bits of SHA-256(user_id NUL job_id) in hex>-<n>"
//   with n = 1 + the number of coach sessions, deleted ones included, the user
//   ever had for the job; a concurrent start that loses the race for a handle
//   (kConflict) re-reads the winner's session and asks there.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "chat/service.hpp"
#include "chat/uuid.hpp"
#include "service/coach_context.hpp"
#include "service/context_window.hpp"
#include "service/event_hub.hpp"
#include "json_text.hpp"
#include "service/service_validate.hpp"

namespace chat {

namespace detail {
namespace {

constexpr std::int64_t kContextHistoryLimit = 1000;
constexpr std::int64_t kReplayScanLimit = 50;

Error permission_denied(std::string message) { return Error::permission_denied(std::move(message)); }
Error unauthenticated(std::string message) { return Error::unauthenticated(std::move(message)); }
Error conversation_not_found() { return Error::not_found("conversation not found"); }
Error message_not_found() { return Error::not_found("message not found"); }

bool is_authenticated(const Principal& who) { return !who.is_anonymous() && !who.user_id.empty(); }

bool can_see(const Principal& who, const Conversation& c) {
  if (who.is_admin()) return true;
  if (c.user_id.empty()) return true;
  if (is_authenticated(who) && c.user_id == who.user_id) return true;
  return who.role == PrincipalRole::kAgent && c.kind == ConversationKind::kSupport;
}

Status check_principal(const Principal& who) {
  if (!who.is_anonymous() && who.user_id.empty()) return unauthenticated("the caller has no user id");
  return {};
}

Status require_authenticated(const Principal& who) {
  if (!is_authenticated(who)) return unauthenticated("this operation needs an authenticated caller");
  return {};
}

Status require_admin(const Principal& who) {
  if (!who.is_admin()) return permission_denied("this operation is reserved to admins");
  return {};
}

Status check_writable(const Conversation& c, Timestamp now) {
  const char* what = c.kind == ConversationKind::kSession ? "session" : "conversation";
  if (!c.is_active) return Error::gone(std::string("the ") + what + " is no longer active");
  if (c.expired_at(now)) return Error::gone(std::string(what) + " expired at " + format_timestamp(*c.expires_at));
  return {};
}

Status check_role_allowed(const Principal& who, const Conversation& c, Role role) {
  switch (role) {
    case Role::kUser:
    case Role::kAssistant:
      return {};
    case Role::kAgent:
      if (who.is_admin() || who.role == PrincipalRole::kAgent) return {};
      return permission_denied("only agents and admins may write messages with role agent");
    case Role::kSystem:
      if (who.is_admin()) return {};
      if (c.user_id.empty() && (c.kind == ConversationKind::kSession || c.kind == ConversationKind::kQuote))
        return {};
      return permission_denied("only admins may write messages with role system here");
  }
  return permission_denied("role not allowed");
}

Status check_tag(std::string_view field, std::string_view value) {
  return check_required_text(field, value, kMaxTagBytes);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ServiceImpl final : public ChatService {
 public:
  ServiceImpl(ServiceDeps deps, ServiceOptions options)
      : store_(std::move(deps.store)),
        llm_(std::move(deps.llm)),
        clock_(std::move(deps.clock)),
        logger_(std::move(deps.logger)),
        tokens_(std::move(deps.tokens)),
        options_(std::move(options)) {
    if (!llm_) llm_ = make_echo_provider();
    if (!clock_) clock_ = make_system_clock();
    if (!tokens_) tokens_ = make_estimating_token_counter();
  }

  ~ServiceImpl() override { hub_.shutdown(); }

  // Every public entry point runs through guard(): nothing throws out of the
  // service, whatever a store, provider or callback does.
  template <typename F>
  auto guard(std::string_view op, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string(op) + ": unexpected exception: " + e.what());
    } catch (...) {
      log(LogLevel::kError, std::string(op) + ": unexpected exception");
    }
    return Error::internal("internal error");
  }

  // ---- conversations

  Result<Conversation> create_conversation(const Principal& who, NewConversation c) override {
    return guard("create_conversation", [&] { return do_create_conversation(who, std::move(c)); });
  }
  Result<Conversation> get_conversation(const Principal& who, const ConversationKey& key) override {
    return guard("get_conversation", [&]() -> Result<Conversation> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      return visible_conversation(who, key);
    });
  }
  Result<Page<Conversation>> list_conversations(const Principal& who, ConversationQuery q) override {
    return guard("list_conversations", [&] { return do_list_conversations(who, std::move(q)); });
  }
  Result<Conversation> update_conversation(const Principal& who, const ConversationKey& key,
                                           const ConversationPatch& patch) override {
    return guard("update_conversation", [&] { return do_update_conversation(who, key, patch); });
  }
  Status delete_conversation(const Principal& who, const ConversationKey& key) override {
    return guard("delete_conversation", [&]() -> Status {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto c = visible_conversation(who, key);
      if (!c) return std::move(c).error();
      CHAT_RETURN_IF_ERROR(store_->soft_delete_conversation(c->id, audit(who)));
      hub_.publish(c->id, "conversation.deleted");
      return {};
    });
  }
  Result<Conversation> restore_conversation(const Principal& who, const ConversationKey& key) override {
    return guard("restore_conversation", [&]() -> Result<Conversation> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto c = visible_conversation(who, key, /*include_deleted=*/true);
      if (!c) return c;
      if (!c->deleted_at) return c;  // restoring a live row is a no-op, not an error
      auto restored = store_->restore_conversation(c->id, audit(who));
      if (!restored) return not_found_as(std::move(restored).error(), conversation_not_found());
      hub_.publish(c->id, "conversation.restored");
      return restored;
    });
  }
  Result<std::int64_t> clear_conversation(const Principal& who, const ConversationKey& key) override {
    return guard("clear_conversation", [&]() -> Result<std::int64_t> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto c = visible_conversation(who, key);
      if (!c) return std::move(c).error();
      auto n = store_->clear_conversation(c->id, audit(who));
      if (!n) return not_found_as(std::move(n).error(), conversation_not_found());
      hub_.publish(c->id, "conversation.cleared");
      return n;
    });
  }
  Result<Conversation> mark_read(const Principal& who, const ConversationKey& key,
                                 std::int64_t up_to_message_id) override {
    return guard("mark_read", [&]() -> Result<Conversation> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(check_non_negative("up_to_message_id", up_to_message_id));
      auto c = visible_conversation(who, key);
      if (!c) return c;
      // The unread count is the owner's: an agent reading a customer's
      // conversation must not clear it.
      if (!who.is_admin() && !c->user_id.empty() && c->user_id != who.user_id)
        return permission_denied("only the owner marks a conversation read");
      std::int64_t up_to = up_to_message_id;
      if (up_to == 0) {
        auto last = store_->last_message_id();
        if (!last) return std::move(last).error();
        up_to = *last;
      }
      auto updated = store_->mark_read(c->id, up_to, clock_->now());
      if (!updated) return not_found_as(std::move(updated).error(), conversation_not_found());
      hub_.publish(c->id, "conversation.read");
      return updated;
    });
  }
  Result<std::int64_t> purge(const Principal& who) override {
    return guard("purge", [&]() -> Result<std::int64_t> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_admin(who));
      const Timestamp now = clock_->now();
      const Timestamp cutoff = now - options_.retention;
      return store_->purge(cutoff, AuditContext{who.user_id, now});
    });
  }

  // ---- messages

  Result<PostResult> post_message(const Principal& who, const ConversationKey& key, NewMessage m) override {
    return guard("post_message", [&] { return do_post_message(who, key, std::move(m)); });
  }
  Result<Message> get_message(const Principal& who, const MessageKey& key) override {
    return guard("get_message", [&]() -> Result<Message> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto found = visible_message(who, key, false);
      if (!found) return std::move(found).error();
      return std::move(found->first);
    });
  }
  Result<Page<Message>> list_messages(const Principal& who, const ConversationKey& key, MessageQuery q) override {
    return guard("list_messages", [&] { return do_list_messages(who, key, std::move(q)); });
  }
  Result<Message> edit_message(const Principal& who, const MessageKey& key, const MessagePatch& patch) override {
    return guard("edit_message", [&] { return do_edit_message(who, key, patch); });
  }
  Status delete_message(const Principal& who, const MessageKey& key) override {
    return guard("delete_message", [&]() -> Status {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto found = visible_message(who, key, false);
      if (!found) return std::move(found).error();
      const Message& m = found->first;
      auto st = store_->soft_delete_message(m.id, audit(who));
      if (!st) return not_found_as(std::move(st).error(), message_not_found());
      hub_.publish(m.conversation_id, "message.deleted", m.id);
      return {};
    });
  }
  Result<Message> restore_message(const Principal& who, const MessageKey& key) override {
    return guard("restore_message", [&]() -> Result<Message> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto found = visible_message(who, key, true);
      if (!found) return std::move(found).error();
      const Message& m = found->first;
      if (!m.deleted_at) return m;  // restoring a live row is a no-op, not an error
      auto restored = store_->restore_message(m.id, audit(who));
      if (!restored) return not_found_as(std::move(restored).error(), message_not_found());
      hub_.publish(m.conversation_id, "message.restored", m.id);
      return restored;
    });
  }
  Result<ThreadMessages> list_thread_messages(const Principal& who, const ConversationKey& key,
                                              MessageQuery q) override {
    return guard("list_thread_messages", [&]() -> Result<ThreadMessages> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(validate_message_query(who, q));
      auto c = visible_conversation(who, key, q.include_deleted);
      if (!c) return std::move(c).error();
      auto page = store_->list_messages(c->id, q);
      if (!page) return std::move(page).error();
      return ThreadMessages{std::move(*c), std::move(*page)};
    });
  }
  Result<ThreadMessage> get_thread_message(const Principal& who, const MessageKey& key) override {
    return guard("get_thread_message", [&]() -> Result<ThreadMessage> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto found = visible_message(who, key, false);
      if (!found) return std::move(found).error();
      return ThreadMessage{std::move(found->second), std::move(found->first)};
    });
  }
  Result<Page<SearchHit>> search_messages(const Principal& who, SearchQuery q) override {
    return guard("search_messages", [&] { return do_search_messages(who, std::move(q)); });
  }
  Result<std::vector<Message>> wait_for_messages(const Principal& who, const ConversationKey& key,
                                                 std::int64_t after_id, std::chrono::milliseconds timeout) override {
    return guard("wait_for_messages", [&] { return do_wait_for_messages(who, key, after_id, timeout); });
  }

  // ---- AI replies

  Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r) override {
    return guard("reply", [&] { return do_reply(who, key, std::move(r), nullptr); });
  }
  Result<ReplyResult> reply_stream(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                   const StreamCallback& on_chunk) override {
    return guard("reply_stream", [&] { return do_reply(who, key, std::move(r), &on_chunk); });
  }
  Status check_reply(const Principal& who, const ConversationKey& key, const ReplyRequest& r) override {
    return guard("check_reply", [&]() -> Status {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      ReplyRequest copy = r;
      CHAT_RETURN_IF_ERROR(validate_reply_request(copy));
      auto c = visible_conversation(who, key);
      if (!c) return std::move(c).error();
      if (r.agent_id) CHAT_RETURN_IF_ERROR(check_agent_exists(*r.agent_id));
      return check_writable(*c, clock_->now());
    });
  }

  // ---- registries

  Result<Agent> put_agent(const Principal& who, Agent a) override {
    return guard("put_agent", [&]() -> Result<Agent> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_admin(who));
      CHAT_RETURN_IF_ERROR(check_non_negative("id", a.id));
      CHAT_RETURN_IF_ERROR(check_required_text("name", a.name, kMaxNameBytes));
      CHAT_RETURN_IF_ERROR(check_text("system_prompt", a.system_prompt, options_.max_context_bytes));
      CHAT_RETURN_IF_ERROR(check_text("model", a.model, kMaxNameBytes));
      return store_->put_agent(a, clock_->now());
    });
  }
  Result<Agent> get_agent(const Principal& who, std::int64_t id) override {
    return guard("get_agent", [&]() -> Result<Agent> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      if (id <= 0) return Error::not_found("agent not found");
      auto a = store_->get_agent(id);
      if (!a) return not_found_as(std::move(a).error(), Error::not_found("agent not found"));
      return a;
    });
  }
  Result<std::vector<Agent>> list_agents(const Principal& who) override {
    return guard("list_agents", [&]() -> Result<std::vector<Agent>> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      return store_->list_agents();
    });
  }
  Result<Subject> put_subject(const Principal& who, Subject s) override {
    return guard("put_subject", [&] { return do_put_subject(who, std::move(s)); });
  }
  Result<Subject> get_subject(const Principal& who, std::string_view id) override {
    return guard("get_subject", [&]() -> Result<Subject> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_authenticated(who));
      if (id.empty()) return Error::not_found("subject not found");
      auto s = store_->get_subject(id);
      if (!s) return not_found_as(std::move(s).error(), Error::not_found("subject not found"));
      return s;
    });
  }
  Result<Profile> put_profile(const Principal& who, Profile p) override {
    return guard("put_profile", [&]() -> Result<Profile> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_authenticated(who));
      p.user_id = who.user_id;
      for (auto [field, text] : {std::pair<const char*, std::string*>{"work_history", &p.work_history},
                                 {"education", &p.education},
                                 {"projects", &p.projects},
                                 {"skills", &p.skills}}) {
        auto normalized = normalize_json_array(*text, field, options_.max_context_bytes);
        if (!normalized) return std::move(normalized).error();
        *text = std::move(*normalized);
      }
      return store_->put_profile(p, clock_->now());
    });
  }
  Result<Profile> get_profile(const Principal& who) override {
    return guard("get_profile", [&]() -> Result<Profile> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_authenticated(who));
      auto p = store_->get_profile(who.user_id);
      if (!p && p.error().code == ErrorCode::kNotFound) {
        Profile empty;
        empty.user_id = who.user_id;
        return empty;
      }
      return p;
    });
  }
  Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q) override {
    return guard("list_audit", [&]() -> Result<std::vector<AuditEntry>> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      CHAT_RETURN_IF_ERROR(require_admin(who));
      CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, options_.max_page));
      return store_->list_audit(q);
    });
  }

  // ---- seeds 002 / 003: support desk (see the rules at the end of this file's header)

  Result<SupportPostResult> post_support_message(const Principal& who, SupportPost p) override {
    return guard("post_support_message", [&] { return do_post_support_message(who, std::move(p)); });
  }
  Result<Dashboard> analytics_dashboard(const Principal& who, const DashboardQuery& q) override {
    return guard("analytics_dashboard", [&] { return do_analytics_dashboard(who, q); });
  }
  Result<GlobalAnalytics> analytics_global(const Principal& who) override {
    return guard("analytics_global", [&] { return do_analytics_global(who); });
  }
  Result<std::vector<ChatSession>> list_sessions(const Principal& who, const ConversationKey& key) override {
    return guard("list_sessions", [&]() -> Result<std::vector<ChatSession>> {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      auto c = visible_conversation(who, key);
      if (!c) return std::move(c).error();
      ActivityQuery aq;
      aq.conversation_id = c->id;
      auto log = store_->activity(aq);
      if (!log) return std::move(log).error();
      return sessions_of(log->messages, options_.session_gap);
    });
  }
  void shutdown() noexcept override { hub_.shutdown(); }

  // ---- seed 004: resume-coach sessions
  Result<CoachStartResult> start_coach_session(const Principal& who, CoachStart s) override {
    return guard("start_coach_session", [&] { return do_start_coach_session(who, std::move(s)); });
  }
  // ---- end seed 004

 private:
  void log(LogLevel level, const std::string& message) const {
    if (logger_ && logger_->enabled(level)) logger_->log(level, message);
  }

  AuditContext audit(const Principal& who) const {
    return AuditContext{who.is_anonymous() ? std::string() : who.user_id, clock_->now()};
  }

  // A store kNotFound becomes our own message, so that a row that vanished
  // between two calls reads exactly like one that never existed.
  static Error not_found_as(Error e, Error replacement) {
    if (e.code == ErrorCode::kNotFound) return replacement;
    return e;
  }

  // ---- lookups

  Result<Conversation> lookup_conversation(const ConversationKey& key, bool include_deleted) {
    Result<Conversation> r = conversation_not_found();
    switch (key.by) {
      case ConversationKey::By::kId:
        if (key.id <= 0) return conversation_not_found();
        r = store_->get_conversation(key.id, include_deleted);
        break;
      case ConversationKey::By::kUuid:
        if (!is_uuid(key.text)) return conversation_not_found();
        r = store_->find_conversation_by_uuid(ascii_lower(key.text), include_deleted);
        break;
      case ConversationKey::By::kHandle:
        if (key.text.empty()) return conversation_not_found();
        r = store_->find_conversation_by_handle(key.text, include_deleted);
        break;
      case ConversationKey::By::kAny: {
        const std::string& t = key.text;
        if (t.empty()) return conversation_not_found();
        bool done = false;
        if (is_uuid(t)) {
          r = store_->find_conversation_by_uuid(ascii_lower(t), include_deleted);
          done = r.ok() || r.error().code != ErrorCode::kNotFound;
        }
        if (!done) {
          r = store_->find_conversation_by_handle(t, include_deleted);
          done = r.ok() || r.error().code != ErrorCode::kNotFound;
        }
        if (!done) {
          if (auto id = parse_positive_id(t)) r = store_->get_conversation(*id, include_deleted);
        }
        break;
      }
      case ConversationKey::By::kSubject:
        return conversation_not_found();  // resolved by subject_conversation(), which needs the caller
    }
    // The key's kind and the caller's rights are judged by key_admits().
    if (!r) return not_found_as(std::move(r).error(), conversation_not_found());
    return r;
  }

  // Whether `who` may reach `c` through `key`: its kind, the ownership rules,
  // and hide_ownerless. One predicate for the lookup path and for the checks
  // a post runs inside the store's write transaction.
  bool key_admits(const Principal& who, const ConversationKey& key, const Conversation& c) const {
    if (key.kind && c.kind != *key.kind) return false;
    if (!can_see(who, c)) return false;
    if (key.hide_ownerless && c.user_id.empty() && !who.is_admin() && who.role != PrincipalRole::kAgent)
      return false;
    return true;
  }

  Result<Conversation> visible_conversation(const Principal& who, const ConversationKey& key,
                                            bool include_deleted = false) {
    auto c = key.by == ConversationKey::By::kSubject ? subject_conversation(who, key)
                                                     : lookup_conversation(key, include_deleted);
    if (!c) return c;
    if (!key_admits(who, key, *c)) return conversation_not_found();
    return c;
  }

  // The message and its (live) conversation, when the caller may see both.
  Result<std::pair<Message, Conversation>> visible_message(const Principal& who, const MessageKey& key,
                                                           bool include_deleted) {
    Result<Message> m = message_not_found();
    switch (key.by) {
      case MessageKey::By::kId:
        if (key.id <= 0) return message_not_found();
        m = store_->get_message(key.id, include_deleted);
        break;
      case MessageKey::By::kUuid:
        if (!is_uuid(key.text)) return message_not_found();
        m = store_->find_message_by_uuid(ascii_lower(key.text), include_deleted);
        break;
      case MessageKey::By::kClientId: {
        if (key.text.empty()) return message_not_found();
        auto c = visible_conversation(who, key.conversation);
        if (!c) return std::move(c).error();
        m = store_->find_message_by_client_id(c->id, key.text);
        break;
      }
    }
    if (!m) return not_found_as(std::move(m).error(), message_not_found());
    auto c = store_->get_conversation(m->conversation_id);
    if (!c) return not_found_as(std::move(c).error(), message_not_found());
    if (!can_see(who, *c)) return message_not_found();
    if (key.conversation.kind && c->kind != *key.conversation.kind) return message_not_found();
    return std::make_pair(std::move(*m), std::move(*c));
  }

  // ---- subject conversations (ConversationKey::of_subject; seed 000 quote chats)
  //
  // Get or create in one step: look the deterministic handle up, and when it
  // is missing create the conversation under it; a concurrent first use loses
  // the unique-handle race with kConflict and reads the winner's row. The
  // handle "<kind>/<subject id>" holds a '/', which is_valid_handle() refuses
  // for client-chosen handles (seed 001 session_id), so none can squat it.
  // The conversation is ownerless: every authenticated caller shares it.
  Result<Conversation> subject_conversation(const Principal& who, const ConversationKey& key) {
    CHAT_RETURN_IF_ERROR(require_authenticated(who));
    if (!key.kind) return conversation_not_found();
    const Error unknown_subject{ErrorCode::kNotFound, "subject not found", "subject"};
    if (key.text.empty() || key.text.size() > kMaxNameBytes) return unknown_subject;
    const std::string handle = std::string(to_string(*key.kind)) + "/" + key.text;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto found = store_->find_conversation_by_handle(handle);
      if (found) {
        if (found->kind != *key.kind || found->subject != key.text) return conversation_not_found();
        return found;
      }
      if (found.error().code != ErrorCode::kNotFound) return std::move(found).error();
      auto subject = store_->get_subject(key.text);
      if (!subject) return not_found_as(std::move(subject).error(), unknown_subject);
      NewConversation nc;
      nc.kind = *key.kind;
      nc.uuid = generate_uuid_v4();
      nc.handle = handle;
      nc.subject = key.text;
      nc.title = subject->title;
      auto created = store_->create_conversation(nc, clock_->now());
      if (created) {
        hub_.publish(created->id, "conversation.created");
        return created;
      }
      if (created.error().code != ErrorCode::kConflict) return std::move(created).error();
      // Lost the race to a concurrent first use (or the row is soft-deleted:
      // the second lookup then fails and so does this key).
    }
    return conversation_not_found();
  }

  Status check_agent_exists(std::int64_t agent_id) {
    if (agent_id > 0) {
      auto a = store_->get_agent(agent_id);
      if (a) return {};
      if (a.error().code != ErrorCode::kNotFound) return std::move(a).error();
    }
    return Error{ErrorCode::kNotFound, "agent " + std::to_string(agent_id) + " not found", "agent_id"};
  }

  // ---- conversations

  Result<Conversation> do_create_conversation(const Principal& who, NewConversation c) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    const Timestamp now = clock_->now();
    if ((c.kind == ConversationKind::kCoach || c.kind == ConversationKind::kQuote) && !is_authenticated(who))
      return unauthenticated("coach and quote conversations need an authenticated caller");

    // Owner.
    if (who.is_admin()) {
      if (c.user_id.empty()) c.user_id = who.user_id;
    } else {
      c.user_id = is_authenticated(who) ? who.user_id : std::string();
    }

    if (!c.uuid.empty()) {
      if (!is_uuid(c.uuid)) return Error::invalid("uuid", "uuid must be a canonical UUID");
      c.uuid = ascii_lower(c.uuid);
    }
    if (!c.handle.empty() && !is_valid_handle(c.handle))
      return Error::invalid("handle", "handle must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
    CHAT_RETURN_IF_ERROR(check_tag("type", c.type));
    CHAT_RETURN_IF_ERROR(check_tag("status", c.status));
    CHAT_RETURN_IF_ERROR(check_text("user_id", c.user_id, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("external_user_id", c.external_user_id, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("name", c.name, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("email", c.email, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("subject", c.subject, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("title", c.title, kMaxTitleBytes));
    CHAT_RETURN_IF_ERROR(check_text("initial_context", c.initial_context, options_.max_context_bytes));
    auto metadata = normalize_json_object(c.metadata, "metadata", options_.max_metadata_bytes);
    if (!metadata) return std::move(metadata).error();
    c.metadata = std::move(*metadata);
    if (c.expires_at && *c.expires_at <= now) return Error::invalid("expires_at", "expires_at must be in the future");
    if (c.agent_id) CHAT_RETURN_IF_ERROR(check_agent_exists(*c.agent_id));
    if (!c.subject.empty() && (c.kind == ConversationKind::kCoach || c.kind == ConversationKind::kQuote)) {
      auto s = store_->get_subject(c.subject);
      if (!s) {
        if (s.error().code != ErrorCode::kNotFound) return std::move(s).error();
        return Error{ErrorCode::kNotFound, "subject " + c.subject + " not found", "subject"};
      }
    }

    if (c.kind == ConversationKind::kSession) {
      if (c.handle.empty()) c.handle = generate_session_handle();
      if (!c.expires_at) c.expires_at = now + options_.session_ttl;
    }
    const bool uuid_given = !c.uuid.empty();
    if (!uuid_given) c.uuid = generate_uuid_v4();

    auto created = store_->create_conversation(c, now);
    if (!created) {
      Error e = std::move(created).error();
      if (e.code == ErrorCode::kConflict && e.field.empty()) {
        if (!c.handle.empty() && uuid_given) {
          e.message = "a conversation with this handle or uuid already exists";
        } else if (!c.handle.empty()) {
          e.field = "handle";
          e.message = "a conversation with this handle already exists";
        } else if (uuid_given) {
          e.field = "uuid";
          e.message = "a conversation with this uuid already exists";
        }
      }
      return e;
    }
    hub_.publish(created->id, "conversation.created");
    return created;
  }

  Result<Page<Conversation>> do_list_conversations(const Principal& who, ConversationQuery q) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, options_.max_page));
    CHAT_RETURN_IF_ERROR(check_non_negative("since_id", q.since_id));
    CHAT_RETURN_IF_ERROR(check_text("search", q.search, kMaxSearchBytes));
    if (q.include_deleted && !who.is_admin())
      return permission_denied("only admins may list deleted conversations");
    switch (who.role) {
      case PrincipalRole::kAdmin:
        break;
      case PrincipalRole::kAgent:
        if (q.kind != ConversationKind::kSupport) q.user_id = who.user_id;
        break;
      case PrincipalRole::kUser:
        q.user_id = who.user_id;
        break;
      case PrincipalRole::kAnonymous:
        q.user_id = std::string();  // ownerless only
        break;
    }
    return store_->list_conversations(q);
  }

  Result<Conversation> do_update_conversation(const Principal& who, const ConversationKey& key,
                                              ConversationPatch patch) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    if (patch.title) CHAT_RETURN_IF_ERROR(check_text("title", *patch.title, kMaxTitleBytes));
    if (patch.status) CHAT_RETURN_IF_ERROR(check_tag("status", *patch.status));
    if (patch.initial_context)
      CHAT_RETURN_IF_ERROR(check_text("initial_context", *patch.initial_context, options_.max_context_bytes));
    if (patch.metadata) {
      auto metadata = normalize_json_object(*patch.metadata, "metadata", options_.max_metadata_bytes);
      if (!metadata) return std::move(metadata).error();
      patch.metadata = std::move(*metadata);
    }
    auto c = visible_conversation(who, key);
    if (!c) return c;
    if (patch.agent_id) CHAT_RETURN_IF_ERROR(check_agent_exists(*patch.agent_id));
    auto updated = store_->update_conversation(c->id, patch, clock_->now());
    if (!updated) return not_found_as(std::move(updated).error(), conversation_not_found());
    hub_.publish(c->id, "conversation.updated");
    return updated;
  }

  // ---- messages

  Status validate_new_message(NewMessage& m) const {
    if (m.content.empty()) return Error::invalid("content", "content is required");
    CHAT_RETURN_IF_ERROR(check_text("content", m.content, options_.max_content_bytes));
    auto metadata = normalize_json_object(m.metadata, "metadata", options_.max_metadata_bytes);
    if (!metadata) return std::move(metadata).error();
    m.metadata = std::move(*metadata);
    CHAT_RETURN_IF_ERROR(check_text("client_id", m.client_id, kMaxClientIdBytes));
    if (!m.uuid.empty()) {
      if (!is_uuid(m.uuid)) return Error::invalid("uuid", "uuid must be a canonical UUID");
      m.uuid = ascii_lower(m.uuid);
    }
    CHAT_RETURN_IF_ERROR(check_tag("content_type", m.content_type));
    CHAT_RETURN_IF_ERROR(check_tag("message_type", m.message_type));
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

  // The stored message for `client_id` as a replay of (role, content), a
  // conflict when it differs, or nothing when there is none.
  Result<std::optional<Message>> find_replay(std::int64_t conversation_id, const std::string& client_id, Role role,
                                             const std::string& content) {
    auto existing = store_->find_message_by_client_id(conversation_id, client_id);
    if (!existing) {
      if (existing.error().code == ErrorCode::kNotFound) return std::optional<Message>();
      return std::move(existing).error();
    }
    if (existing->role != role || existing->content != content)
      return Error::conflict("client_id", "client_id is already used by a different message");
    return std::optional<Message>(std::move(*existing));
  }

  // The access, role and expiry checks run inside the store's write
  // transaction (an AppendPrecondition), on the conversation row as the
  // writer sees it: a conversation deleted, deactivated or expired since the
  // caller named it cannot take the message. A key by id needs no lookup
  // before that; other keys are resolved to an id first (and checked again
  // inside the transaction).
  Result<PostResult> do_post_message(const Principal& who, const ConversationKey& key, NewMessage m) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(validate_new_message(m));
    std::int64_t id = key.id;
    if (key.by != ConversationKey::By::kId) {
      auto c = visible_conversation(who, key);
      if (!c) return std::move(c).error();
      id = c->id;
    } else if (id <= 0) {
      return conversation_not_found();
    }
    const Timestamp now = clock_->now();
    bool closed = false;  // refused only because the conversation is not writable
    Conversation seen;    // the row as the writer saw it, for PostResult::conversation
    auto admit = [&](const Conversation& c) -> Status {
      if (!key_admits(who, key, c)) return conversation_not_found();
      seen = c;
      CHAT_RETURN_IF_ERROR(check_role_allowed(who, c, m.role));
      // Judged when the writer holds the row (not before waiting for it);
      // the message keeps the earlier `now`, so it is never stamped at or
      // after the expiry that admitted it.
      auto writable = check_writable(c, clock_->now());
      closed = !writable.ok();
      return writable;
    };
    auto out = store_->append_message(id, m, now, admit);
    if (!out) {
      // A retry of a post that succeeded before the conversation closed is
      // still answered with the stored message.
      if (closed && !m.client_id.empty()) {
        auto replay = find_replay(id, m.client_id, m.role, m.content);
        if (!replay) return std::move(replay).error();
        if (*replay) return PostResult{std::move(**replay), true, std::move(seen)};
      }
      return not_found_as(std::move(out).error(), conversation_not_found());
    }
    if (!out->created) {
      if (out->message.role != m.role || out->message.content != m.content)
        return Error::conflict("client_id", "client_id is already used by a different message");
      return PostResult{std::move(out->message), true, std::move(seen)};
    }
    hub_.publish(id, "message.created", out->message.id);
    return PostResult{std::move(out->message), false, std::move(seen)};
  }

  Status validate_message_query(const Principal& who, const MessageQuery& q) const {
    CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, options_.max_page));
    CHAT_RETURN_IF_ERROR(check_non_negative("after_id", q.after_id));
    CHAT_RETURN_IF_ERROR(check_non_negative("before_id", q.before_id));
    CHAT_RETURN_IF_ERROR(check_text("search", q.search, kMaxSearchBytes));
    if (q.include_deleted && !who.is_admin()) return permission_denied("only admins may list deleted messages");
    return {};
  }

  Result<Page<Message>> do_list_messages(const Principal& who, const ConversationKey& key, MessageQuery q) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(validate_message_query(who, q));
    auto c = visible_conversation(who, key, q.include_deleted);
    if (!c) return std::move(c).error();
    return store_->list_messages(c->id, q);
  }

  Result<Message> do_edit_message(const Principal& who, const MessageKey& key, MessagePatch patch) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    if (patch.content) {
      if (patch.content->empty()) return Error::invalid("content", "content is required");
      CHAT_RETURN_IF_ERROR(check_text("content", *patch.content, options_.max_content_bytes));
    }
    if (patch.metadata) {
      auto metadata = normalize_json_object(*patch.metadata, "metadata", options_.max_metadata_bytes);
      if (!metadata) return std::move(metadata).error();
      patch.metadata = std::move(*metadata);
    }
    if (patch.tokens_used) CHAT_RETURN_IF_ERROR(check_non_negative("tokens_used", *patch.tokens_used));
    if (patch.processing_time) CHAT_RETURN_IF_ERROR(check_non_negative("processing_time", *patch.processing_time));
    if (patch.cost) CHAT_RETURN_IF_ERROR(check_non_negative("cost", *patch.cost));

    auto found = visible_message(who, key, false);
    if (!found) return std::move(found).error();
    const auto& [m, c] = *found;
    CHAT_RETURN_IF_ERROR(check_role_allowed(who, c, m.role));
    CHAT_RETURN_IF_ERROR(check_writable(c, clock_->now()));
    auto updated = store_->update_message(m.id, patch, clock_->now());
    if (!updated) return not_found_as(std::move(updated).error(), message_not_found());
    hub_.publish(m.conversation_id, "message.updated", m.id);
    return updated;
  }

  Result<Page<SearchHit>> do_search_messages(const Principal& who, SearchQuery q) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(check_required_text("text", q.text, kMaxSearchBytes));
    CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, options_.max_page));
    if (q.conversation_id) {
      auto c = visible_conversation(who, ConversationKey::of_id(*q.conversation_id, q.kind));
      if (!c) return std::move(c).error();
      // Scoped to one visible conversation: no owner filter needed (and an
      // owner filter would hide ownerless or support conversations).
      if (!who.is_admin()) q.user_id.reset();
    } else {
      switch (who.role) {
        case PrincipalRole::kAdmin:
          break;
        case PrincipalRole::kAgent:
          if (q.kind != ConversationKind::kSupport) q.user_id = who.user_id;
          break;
        case PrincipalRole::kUser:
          q.user_id = who.user_id;
          break;
        case PrincipalRole::kAnonymous:
          q.user_id = std::string();
          break;
      }
    }
    return store_->search_messages(q);
  }

  Result<std::vector<Message>> do_wait_for_messages(const Principal& who, const ConversationKey& key,
                                                    std::int64_t after_id, std::chrono::milliseconds timeout) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    if (timeout.count() < 0) return Error::invalid("timeout", "timeout must not be negative");
    CHAT_RETURN_IF_ERROR(check_non_negative("after_id", after_id));
    auto c = visible_conversation(who, key);
    if (!c) return std::move(c).error();
    const auto deadline = std::chrono::steady_clock::now() + std::min(timeout, options_.max_wait);

    MessageQuery q;
    q.after_id = after_id;
    q.limit = options_.max_page;
    // The watch pins the slot, so its version moves only on this
    // conversation's changes; reading it before the query closes the window
    // in which a post could slip between the query and the wait.
    auto watch = hub_.watch(c->id);
    for (;;) {
      const std::uint64_t seen = watch.version();
      auto page = store_->list_messages(c->id, q);
      if (!page) return std::move(page).error();
      if (!page->items.empty()) return std::move(page->items);
      if (std::chrono::steady_clock::now() >= deadline || hub_.is_shut_down()) return std::vector<Message>();
      if (watch.wait_for_change(seen, deadline)) {
        // The change may have been the conversation going away.
        auto still = store_->get_conversation(c->id);
        if (!still) return not_found_as(std::move(still).error(), conversation_not_found());
      }
    }
  }

  // ---- replies

  // A complete assistant answer to `user` stored after it (before the next
  // user message), if any.
  Result<std::optional<Message>> find_answer(std::int64_t conversation_id, std::int64_t user_message_id) {
    MessageQuery q;
    q.after_id = user_message_id;
    q.include_system = false;
    q.limit = kReplayScanLimit;
    auto page = store_->list_messages(conversation_id, q);
    if (!page) return std::move(page).error();
    for (auto& m : page->items) {
      if (m.role == Role::kUser) break;
      if (m.role == Role::kAssistant && m.status != MessageStatus::kFailed) return std::optional<Message>(std::move(m));
    }
    return std::optional<Message>();
  }

  static Usage usage_of_stored(const Message& m) {
    Usage u;
    u.completion_tokens = m.tokens_used.value_or(0);
    u.processing_time = m.processing_time.value_or(0);
    u.cost = m.cost.value_or(0);
    auto meta = nlohmann::json::parse(m.metadata, nullptr, false);
    if (meta.is_object()) {
      auto it = meta.find("prompt_tokens");
      if (it != meta.end() && it->is_number_integer()) u.prompt_tokens = it->get<std::int64_t>();
    }
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    return u;
  }

  double cost_of(const std::string& model, std::int64_t prompt_tokens, std::int64_t completion_tokens) const {
    for (const auto& p : options_.prices)
      if (p.model == model)
        return static_cast<double>(prompt_tokens) / 1000.0 * p.prompt_per_1k +
               static_cast<double>(completion_tokens) / 1000.0 * p.completion_per_1k;
    return 0;
  }

  Status validate_reply_request(ReplyRequest& r) const {
    CHAT_RETURN_IF_ERROR(check_text("content", r.content, options_.max_content_bytes));
    CHAT_RETURN_IF_ERROR(check_text("client_id", r.client_id, kMaxClientIdBytes));
    if (!r.client_id.empty() && r.content.empty())
      return Error::invalid("content", "content is required when client_id is given");
    auto metadata = normalize_json_object(r.metadata, "metadata", options_.max_metadata_bytes);
    if (!metadata) return std::move(metadata).error();
    r.metadata = std::move(*metadata);
    CHAT_RETURN_IF_ERROR(check_text("model", r.model, kMaxNameBytes));
    if (r.max_tokens && *r.max_tokens <= 0) return Error::invalid("max_tokens", "max_tokens must be positive");
    if (r.temperature && !(*r.temperature >= 0.0 && *r.temperature <= 2.0))
      return Error::invalid("temperature", "temperature must be between 0 and 2");
    return {};
  }

  Result<ReplyResult> do_reply(const Principal& who, const ConversationKey& key, ReplyRequest r,
                               const StreamCallback* on_chunk) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(validate_reply_request(r));
    auto conv = visible_conversation(who, key);
    if (!conv) return std::move(conv).error();
    const Conversation& c = *conv;

    // Persona: the request's agent must exist; the conversation's may have
    // been removed since, in which case the defaults apply.
    std::optional<Agent> agent;
    if (r.agent_id) {
      CHAT_RETURN_IF_ERROR(check_agent_exists(*r.agent_id));
      auto a = store_->get_agent(*r.agent_id);
      if (!a) return std::move(a).error();
      agent = std::move(*a);
    } else if (c.agent_id) {
      auto a = store_->get_agent(*c.agent_id);
      if (a) {
        agent = std::move(*a);
      } else if (a.error().code != ErrorCode::kNotFound) {
        return std::move(a).error();
      }
    }

    // An idempotent retry: the user message is stored already.
    std::optional<Message> user;
    // Seeds 002/003: the client posted this message already (see ReplyRequest).
    if (r.reuse_latest_user_message && r.client_id.empty() && !r.content.empty()) {
      MessageQuery lq;
      lq.newest_first = true;
      lq.include_system = false;
      lq.limit = 1;
      auto latest = store_->list_messages(c.id, lq);
      if (!latest) return std::move(latest).error();
      if (!latest->items.empty() && latest->items.front().role == Role::kUser &&
          latest->items.front().content == r.content)
        user = std::move(latest->items.front());
    }
    if (!r.client_id.empty()) {
      auto replay = find_replay(c.id, r.client_id, Role::kUser, r.content);
      if (!replay) return std::move(replay).error();
      if (*replay) {
        user = std::move(**replay);
        auto answer = find_answer(c.id, user->id);
        if (!answer) return std::move(answer).error();
        if (*answer) {
          ReplyResult out;
          out.user_message = user;
          out.assistant_message = std::move(**answer);
          out.usage = usage_of_stored(out.assistant_message);
          if (on_chunk != nullptr && !out.assistant_message.content.empty()) {
            // A retried stream gets the stored answer as one chunk, so that
            // a client rendering chunks still sees the whole reply.
            StreamEvent event;
            event.chunk = out.assistant_message.content;
            event.user_message = &*out.user_message;
            event.assistant_uuid = out.assistant_message.uuid;
            try {
              (void)(*on_chunk)(event);
            } catch (...) {
              // The answer is stored either way; a consumer gone changes nothing.
            }
          }
          auto fresh = store_->get_conversation(c.id);
          out.conversation = fresh ? std::move(*fresh) : c;
          return out;
        }
      }
    }
    CHAT_RETURN_IF_ERROR(check_writable(c, clock_->now()));

    // The context comes first: a message too long for the window must leave
    // nothing behind.
    ContextParams params;
    if (r.include_context) {
      MessageQuery hq;
      hq.before_id = user ? user->id : 0;
      hq.newest_first = true;
      hq.include_system = false;
      hq.limit = std::min(kContextHistoryLimit, options_.max_page);
      auto history = store_->list_messages(c.id, hq);
      if (!history) return std::move(history).error();
      params.history.assign(std::make_move_iterator(history->items.rbegin()),
                            std::make_move_iterator(history->items.rend()));
    }
    params.system_prompt = agent && !agent->system_prompt.empty() ? agent->system_prompt
                                                                   : options_.default_system_prompt;
    params.initial_context = c.initial_context;
    if (!r.content.empty()) params.new_message = r.content;
    params.include_context = r.include_context;
    params.context_tokens = options_.context_tokens;
    params.reply_tokens = options_.reply_tokens;
    auto window = build_context_window(params, *tokens_);
    if (!window) return std::move(window).error();
    // The window owns copies of what it kept: free the (up to 1,000) history
    // rows now rather than hold them for the whole of a long stream (about
    // 360 KiB per open stream in a long session, measured in docs/seed-001.md).
    std::vector<Message>().swap(params.history);

    if (!r.content.empty() && !user) {
      NewMessage um;
      um.client_id = r.client_id;
      um.role = Role::kUser;
      um.content = r.content;
      um.metadata = r.metadata;
      auto stored = store_->append_message(c.id, um, clock_->now());
      if (!stored) return not_found_as(std::move(stored).error(), conversation_not_found());
      if (!stored->created && (stored->message.role != Role::kUser || stored->message.content != r.content))
        return Error::conflict("client_id", "client_id is already used by a different message");
      if (stored->created) hub_.publish(c.id, "message.created", stored->message.id);
      user = std::move(stored->message);
    }

    CompletionRequest request;
    request.model = !r.model.empty() ? r.model : (agent && !agent->model.empty() ? agent->model : options_.default_model);
    request.messages = std::move(window->turns);
    request.temperature = r.temperature;
    request.max_tokens = r.max_tokens;

    // The assistant's uuid is known before the first chunk, so that a stream
    // can name the message it is producing.
    const std::string assistant_uuid = generate_uuid_v4();
    std::string text;
    bool cancelled = false;
    std::size_t chunks = 0;
    const auto started = std::chrono::steady_clock::now();
    Result<Completion> completion = Error::internal("no completion");
    try {
      if (on_chunk == nullptr) {
        completion = llm_->complete(request);
        if (completion) text = completion->content;
      } else {
        StreamEvent event;
        event.user_message = user ? &*user : nullptr;
        event.assistant_uuid = assistant_uuid;
        completion = llm_->stream(request, [&](std::string_view chunk) {
          if (cancelled) return false;
          ++chunks;
          event.chunk = chunk;
          bool keep = false;
          try {
            keep = (*on_chunk)(event);
          } catch (...) {
            keep = false;  // a throwing consumer is a consumer gone
          }
          if (!keep) {
            cancelled = true;
            return false;
          }
          text.append(chunk);
          return true;
        });
      }
    } catch (const std::exception& e) {
      completion = Error{ErrorCode::kUpstream, "the model provider failed", {}};
      log(LogLevel::kError, std::string("provider threw: ") + e.what());
    } catch (...) {
      completion = Error{ErrorCode::kUpstream, "the model provider failed", {}};
      log(LogLevel::kError, "provider threw");
    }
    const double elapsed = seconds_since(started);

    if (!completion && chunks == 0) {
      // Nothing was produced: keep the user message, store no answer; a
      // retry with the same client_id generates again.
      log(LogLevel::kWarn, "reply failed before any output: " + completion.error().message);
      return std::move(completion).error();
    }
    const bool failed = !completion || cancelled;
    if (!completion) log(LogLevel::kWarn, "reply stream failed after output: " + completion.error().message);

    Usage usage;
    if (completion && completion->usage_reported) {
      usage.prompt_tokens = std::max<std::int64_t>(completion->prompt_tokens, 0);
      usage.completion_tokens = std::max<std::int64_t>(completion->completion_tokens, 0);
    } else {
      usage.prompt_tokens = window->prompt_tokens;
      usage.completion_tokens = tokens_->count(text);
    }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    usage.processing_time = elapsed;
    usage.cost = cost_of(request.model, usage.prompt_tokens, usage.completion_tokens);

    nlohmann::json meta = {{"model", request.model},
                           {"prompt_tokens", usage.prompt_tokens},
                           {"completion_tokens", usage.completion_tokens}};
    meta["finish_reason"] = cancelled ? std::string("cancelled")
                            : !completion ? std::string("error")
                                          : (completion->finish_reason.empty() ? std::string("stop")
                                                                               : completion->finish_reason);
    if (user) meta["reply_to"] = user->id;

    NewMessage am;
    am.uuid = assistant_uuid;
    am.role = Role::kAssistant;
    am.content = sanitize_utf8(text);
    am.status = failed ? MessageStatus::kFailed : MessageStatus::kComplete;
    am.metadata = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    am.tokens_used = usage.completion_tokens;
    am.processing_time = usage.processing_time;
    am.cost = usage.cost;
    auto stored = store_->append_message(c.id, am, clock_->now());
    if (!stored) {
      log(LogLevel::kWarn, "storing the assistant message failed: " + stored.error().message);
      if (!completion) return std::move(completion).error();
      return not_found_as(std::move(stored).error(), conversation_not_found());
    }
    hub_.publish(c.id, "message.created", stored->message.id);
    if (!completion) return std::move(completion).error();

    ReplyResult out;
    out.user_message = std::move(user);
    out.assistant_message = std::move(stored->message);
    out.usage = usage;
    auto fresh = store_->get_conversation(c.id);
    out.conversation = fresh ? std::move(*fresh) : c;
    return out;
  }

  // ---- seeds 002 / 003

  Result<SupportPostResult> do_post_support_message(const Principal& who, SupportPost p) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    const bool staff = who.is_admin() || who.role == PrincipalRole::kAgent;
    NewMessage m;
    m.role = staff ? Role::kAgent : Role::kUser;
    m.content = std::move(p.content);
    CHAT_RETURN_IF_ERROR(validate_new_message(m));
    if (p.since) CHAT_RETURN_IF_ERROR(check_non_negative("since", *p.since));
    CHAT_RETURN_IF_ERROR(check_text("name", p.name, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_text("email", p.email, kMaxNameBytes));

    SupportPostResult out;
    std::optional<Conversation> conv;
    if (is_uuid(p.conversation)) {
      auto c = visible_conversation(who, ConversationKey::of_uuid(p.conversation, ConversationKind::kSupport));
      if (c) {
        conv = std::move(*c);
      } else if (c.error().code != ErrorCode::kNotFound) {
        return std::move(c).error();
      }
    }
    if (!conv) {
      if (staff) return Error{ErrorCode::kNotFound, "conversation not found", "conversation"};
      NewConversation nc;
      nc.kind = ConversationKind::kSupport;
      nc.name = std::move(p.name);
      nc.email = std::move(p.email);
      auto created = do_create_conversation(who, std::move(nc));
      if (!created) return std::move(created).error();
      conv = std::move(*created);
      out.created_conversation = true;
    }
    CHAT_RETURN_IF_ERROR(check_writable(*conv, clock_->now()));
    auto stored = store_->append_message(conv->id, m, clock_->now());
    if (!stored) return not_found_as(std::move(stored).error(), conversation_not_found());
    hub_.publish(conv->id, "message.created", stored->message.id);
    out.message = std::move(stored->message);

    MessageQuery q;
    q.after_id = p.since.value_or(0);
    q.limit = options_.max_page;
    auto page = store_->list_messages(conv->id, q);
    if (!page) return std::move(page).error();
    out.messages = std::move(page->items);
    auto fresh = store_->get_conversation(conv->id);
    out.conversation = fresh ? std::move(*fresh) : std::move(*conv);
    return out;
  }

  static constexpr std::int64_t kDayMs = 86'400'000;

  // Sessions from messages ordered by (conversation_id, id): a new session
  // starts at a conversation's first message and after every gap > `gap`.
  static std::vector<ChatSession> sessions_of(const std::vector<MessageActivity>& messages,
                                              std::chrono::milliseconds gap) {
    std::vector<ChatSession> out;
    const MessageActivity* prev = nullptr;
    for (const auto& m : messages) {
      if (prev == nullptr || prev->conversation_id != m.conversation_id || m.created_at - prev->created_at > gap) {
        ChatSession s;
        s.conversation_id = m.conversation_id;
        s.session_start = m.created_at;
        out.push_back(s);
      }
      ChatSession& cur = out.back();
      cur.session_end = std::max(cur.session_end, m.created_at);
      ++cur.messages_count;
      cur.duration_minutes = (to_millis(cur.session_end) - to_millis(cur.session_start)) / 60'000;
      prev = &m;
    }
    return out;
  }

  Result<Dashboard> do_analytics_dashboard(const Principal& who, const DashboardQuery& q) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(require_authenticated(who));
    if (q.days < 1 || q.days > 366) return Error::invalid("days", "days must be an integer between 1 and 366");
    ActivityQuery aq;
    aq.user_id = who.user_id;
    aq.kind = ConversationKind::kSupport;
    auto log = store_->activity(aq);
    if (!log) return std::move(log).error();

    Dashboard d;
    d.total_conversations = static_cast<std::int64_t>(log->conversations.size());
    d.total_messages = static_cast<std::int64_t>(log->messages.size());

    // Response time: a reply right after a user message (system rows skipped).
    double sum = 0;
    std::int64_t pairs = 0;
    const MessageActivity* prev = nullptr;
    for (const auto& m : log->messages) {
      if (m.role == Role::kSystem) continue;
      if (prev != nullptr && prev->conversation_id != m.conversation_id) prev = nullptr;
      if (prev != nullptr && prev->role == Role::kUser && (m.role == Role::kAssistant || m.role == Role::kAgent)) {
        sum += static_cast<double>(to_millis(m.created_at) - to_millis(prev->created_at)) / 1000.0;
        ++pairs;
      }
      prev = &m;
    }
    if (pairs > 0) d.average_response_time = std::round(sum / static_cast<double>(pairs) * 1000.0) / 1000.0;

    // Most active agent: assistant messages in conversations with an agent_id.
    std::map<std::int64_t, std::int64_t> agent_of;  // conversation -> agent
    for (const auto& c : log->conversations)
      if (c.agent_id) agent_of[c.id] = *c.agent_id;
    std::map<std::int64_t, std::int64_t> per_agent;
    for (const auto& m : log->messages) {
      if (m.role != Role::kAssistant) continue;
      auto it = agent_of.find(m.conversation_id);
      if (it != agent_of.end()) ++per_agent[it->second];
    }
    for (const auto& [agent, n] : per_agent) {
      if (!d.most_active_agent || n > d.most_active_agent->message_count)
        d.most_active_agent = AgentActivity{agent, {}, n};
    }
    if (d.most_active_agent) {
      auto a = store_->get_agent(d.most_active_agent->agent_id);
      if (a) d.most_active_agent->name = a->name;
    }

    // Daily stats: UTC days of the window ending today.
    const std::int64_t today = to_millis(clock_->now()) / kDayMs - (to_millis(clock_->now()) < 0 ? 1 : 0);
    const std::int64_t first = today - (q.days - 1);
    d.daily_stats.resize(static_cast<std::size_t>(q.days));
    for (std::int64_t i = 0; i < q.days; ++i)
      d.daily_stats[static_cast<std::size_t>(i)].date = format_timestamp(from_millis((first + i) * kDayMs)).substr(0, 10);
    auto bucket = [&](Timestamp t) -> DailyStat* {
      const std::int64_t day = to_millis(t) >= 0 ? to_millis(t) / kDayMs : (to_millis(t) - kDayMs + 1) / kDayMs;
      if (day < first || day > today) return nullptr;
      return &d.daily_stats[static_cast<std::size_t>(day - first)];
    };
    for (const auto& c : log->conversations)
      if (auto* b = bucket(c.created_at)) ++b->conversations;
    for (const auto& m : log->messages)
      if (auto* b = bucket(m.created_at)) ++b->messages;

    // Sessions.
    auto sessions = sessions_of(log->messages, options_.session_gap);
    d.total_sessions = static_cast<std::int64_t>(sessions.size());
    if (!sessions.empty()) {
      double minutes = 0;
      for (const auto& s : sessions)
        minutes += static_cast<double>(to_millis(s.session_end) - to_millis(s.session_start)) / 60'000.0;
      d.average_session_duration = std::round(minutes / static_cast<double>(sessions.size()) * 100.0) / 100.0;
    }
    return d;
  }

  Result<GlobalAnalytics> do_analytics_global(const Principal& who) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(require_authenticated(who));
    CHAT_RETURN_IF_ERROR(require_admin(who));
    auto t = store_->activity_totals(ConversationKind::kSupport);
    if (!t) return std::move(t).error();
    GlobalAnalytics g;
    g.total_conversations = t->conversations;
    g.total_messages = t->messages;
    g.users = t->owners;
    if (t->owners > 0)
      g.average_conversations_per_user =
          std::round(static_cast<double>(t->owned_conversations) / static_cast<double>(t->owners) * 100.0) / 100.0;
    for (const auto& a : t->agents) {
      AgentPerformance p;
      p.agent_id = a.agent_id;
      p.name = a.name;
      p.total_conversations = a.conversations;
      p.replies = a.replies;
      p.failed_replies = a.failed_replies;
      if (a.replies > 0)
        p.success_rate = std::round(1000.0 * static_cast<double>(a.replies - a.failed_replies) /
                                    static_cast<double>(a.replies)) / 10.0;
      g.top_performing_agents.push_back(std::move(p));
    }
    std::stable_sort(g.top_performing_agents.begin(), g.top_performing_agents.end(),
                     [](const AgentPerformance& x, const AgentPerformance& y) {
                       if (x.total_conversations != y.total_conversations)
                         return x.total_conversations > y.total_conversations;
                       if (x.replies != y.replies) return x.replies > y.replies;
                       return x.agent_id < y.agent_id;
                     });
    if (g.top_performing_agents.size() > 10) g.top_performing_agents.resize(10);
    return g;
  }

  // ---- registries

  Result<Subject> do_put_subject(const Principal& who, Subject s) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(require_authenticated(who));
    CHAT_RETURN_IF_ERROR(check_text("id", s.id, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_required_text("title", s.title, kMaxTitleBytes));
    CHAT_RETURN_IF_ERROR(check_text("description", s.description, options_.max_context_bytes));
    if (s.id.empty()) {
      s.id = generate_uuid_v4();
    } else {
      auto existing = store_->get_subject(s.id);
      if (existing) {
        if (!who.is_admin() && existing->created_by != who.user_id)
          return Error::conflict("id", "a subject with this id already exists");
        s.created_by = existing->created_by;
      } else if (existing.error().code != ErrorCode::kNotFound) {
        return std::move(existing).error();
      }
    }
    if (s.created_by.empty()) s.created_by = who.user_id;
    return store_->put_subject(s, clock_->now());
  }

  // ---- seed 004: resume-coach sessions

  static std::string coach_handle_prefix(const std::string& user_id, const std::string& job_id) {
    std::string input = user_id;
    input.push_back('\0');
    input += job_id;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 16)
      throw std::runtime_error("sha256 failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "coach-";
    for (unsigned i = 0; i < 16; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 0xF];
    }
    return out + "-";
  }

  // Every coach session `user_id` ever opened for `job_id`, deleted ones
  // included, newest first, in one read.
  Result<Page<Conversation>> coach_sessions_ever(const std::string& user_id, const std::string& job_id) {
    ConversationQuery q;
    q.kind = ConversationKind::kCoach;
    q.user_id = user_id;
    q.subject = job_id;
    q.include_deleted = true;
    q.limit = options_.max_page;
    return store_->list_conversations(q);
  }

  Result<CoachStartResult> do_start_coach_session(const Principal& who, CoachStart s) {
    CHAT_RETURN_IF_ERROR(check_principal(who));
    CHAT_RETURN_IF_ERROR(require_authenticated(who));
    CHAT_RETURN_IF_ERROR(check_required_text("job_id", s.job_id, kMaxNameBytes));
    CHAT_RETURN_IF_ERROR(check_required_text("question", s.question, options_.max_content_bytes));
    auto job = store_->get_subject(s.job_id);
    if (!job) {
      if (job.error().code != ErrorCode::kNotFound) return std::move(job).error();
      return Error{ErrorCode::kNotFound, "job " + s.job_id + " not found", "job_id"};
    }

    CoachStartResult out;
    std::optional<Conversation> session;
    for (int attempt = 0; attempt < 8 && !session; ++attempt) {
      // One read (one snapshot) answers both questions: is there a live
      // session, and how many were ever opened (the next handle). Two reads
      // would race: a start reading between another's commit and its own
      // count would miss the new session and open a second one.
      auto ever = coach_sessions_ever(who.user_id, s.job_id);
      if (!ever) return std::move(ever).error();
      if (auto live = std::find_if(ever->items.begin(), ever->items.end(),
                                   [](const Conversation& c) { return !c.deleted_at && c.is_active; });
          live != ever->items.end()) {
        session = std::move(*live);
        break;
      }

      auto profile = store_->get_profile(who.user_id);
      Profile p;
      p.user_id = who.user_id;
      if (profile) {
        p = std::move(*profile);
      } else if (profile.error().code != ErrorCode::kNotFound) {
        return std::move(profile).error();
      }
      const CoachContext ctx = build_coach_context(p, *job, options_.coach, *tokens_);

      NewConversation nc;
      nc.kind = ConversationKind::kCoach;
      nc.handle = coach_handle_prefix(who.user_id, s.job_id) + std::to_string(ever->total + 1);
      nc.subject = s.job_id;
      nc.title = job->title.substr(0, kMaxTitleBytes);
      while (!nc.title.empty() && !is_valid_utf8(nc.title)) nc.title.pop_back();
      nc.initial_context = ctx.text;
      nc.metadata = nlohmann::json{{"job_id", s.job_id},
                                   {"resume_tokens", ctx.resume_tokens},
                                   {"job_tokens", ctx.job_tokens},
                                   {"resume_truncated", ctx.resume_truncated},
                                   {"job_truncated", ctx.job_truncated}}
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      auto created = do_create_conversation(who, std::move(nc));
      if (created) {
        session = std::move(*created);
        out.created = true;
      } else if (created.error().code != ErrorCode::kConflict) {
        return std::move(created).error();
      }
      // kConflict: another start won the handle; look again.
    }
    if (!session) return Error::unavailable("could not open a coach session; try again");

    ReplyRequest r;
    r.content = std::move(s.question);
    auto reply = do_reply(who, ConversationKey::of_id(session->id, ConversationKind::kCoach), std::move(r), nullptr);
    if (!reply) {
      Error e = std::move(reply).error();
      if (e.field == "content") e.field = "question";
      return e;
    }
    out.reply = std::move(*reply);
    return out;
  }
  // ---- end seed 004

  std::shared_ptr<Store> store_;
  std::shared_ptr<LlmProvider> llm_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<Logger> logger_;
  std::shared_ptr<TokenCounter> tokens_;
  const ServiceOptions options_;
  EventHub hub_;
};

}  // namespace
}  // namespace detail

Result<std::unique_ptr<ChatService>> make_chat_service(ServiceDeps deps, ServiceOptions options) {
  if (!deps.store) return Error::invalid("store", "a store is required");
  if (options.max_page < 1) return Error::invalid("max_page", "max_page must be at least 1");
  if (options.reply_tokens < 0 || options.context_tokens <= options.reply_tokens)
    return Error::invalid("context_tokens", "context_tokens must be larger than reply_tokens");
  if (options.session_ttl.count() <= 0) return Error::invalid("session_ttl", "session_ttl must be positive");
  if (options.retention.count() < 0) return Error::invalid("retention", "retention must not be negative");
  if (options.max_wait.count() < 0) return Error::invalid("max_wait", "max_wait must not be negative");
  try {
    return std::unique_ptr<ChatService>(std::make_unique<detail::ServiceImpl>(std::move(deps), std::move(options)));
  } catch (const std::exception&) {
    return Error::internal("could not create the chat service");
  }
}

}  // namespace chat
