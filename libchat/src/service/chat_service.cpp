// ChatService: the facade. ServiceImpl owns the shared core and one object
// per concern, and forwards every operation through the common guard
// (service_core.hpp), which holds the rules every operation shares. The rules
// of each concern live beside its code:
//   access.hpp          who may see and write what
//   key_lookup.hpp      conversation and message keys
//   conversations.hpp   conversation operations
//   messages.hpp        message operations, search, the long-poll wait
//   replies.hpp         AI replies, step by step
//   quote_chats.hpp     subject conversations (seed 000)
//   support_desk.hpp    customer widget posts (seed 002)
//   analytics.hpp       analytics arithmetic (pure); reports.hpp its operations (seed 003)
//   coach_sessions.hpp  resume-coach sessions (seed 004)
//   registries.hpp      agents, subjects, profiles, audit
//   event_streams.hpp   live updates: event streams over the change log, typing
#include <exception>
#include <memory>
#include <utility>

#include "chat/service.hpp"
#include "service/coach_sessions.hpp"
#include "service/conversations.hpp"
#include "service/event_streams.hpp"
#include "service/key_lookup.hpp"
#include "service/messages.hpp"
#include "service/registries.hpp"
#include "service/replies.hpp"
#include "service/reports.hpp"
#include "service/service_core.hpp"
#include "service/support_desk.hpp"

namespace chat {

namespace detail {
namespace {

class ServiceImpl final : public ChatService {
 public:
  ServiceImpl(ServiceDeps deps, ServiceOptions options) : core_(std::move(deps), std::move(options)) {}
  ~ServiceImpl() override { shutdown(); }

  ServiceLimits limits() const noexcept override {
    return ServiceLimits{core_.options.max_page, core_.options.max_wait, core_.options.max_page_bytes};
  }

  // ---- conversations
  Result<Conversation> create_conversation(const Principal& who, NewConversation c) override {
    return core_.guard("create_conversation", who, [&] { return conversations_.create(who, std::move(c)); });
  }
  Result<Conversation> get_conversation(const Principal& who, const ConversationKey& key) override {
    return core_.guard("get_conversation", who, [&] { return conversations_.get(who, key); });
  }
  Result<Page<Conversation>> list_conversations(const Principal& who, ConversationQuery q) override {
    return core_.guard("list_conversations", who, [&] { return conversations_.list(who, std::move(q)); });
  }
  Result<Conversation> update_conversation(const Principal& who, const ConversationKey& key,
                                           const ConversationPatch& patch) override {
    return core_.guard("update_conversation", who, [&] { return conversations_.update(who, key, patch); });
  }
  Status delete_conversation(const Principal& who, const ConversationKey& key) override {
    return core_.guard("delete_conversation", who, [&] { return conversations_.remove(who, key); });
  }
  Result<Conversation> restore_conversation(const Principal& who, const ConversationKey& key) override {
    return core_.guard("restore_conversation", who, [&] { return conversations_.restore(who, key); });
  }
  Result<std::int64_t> clear_conversation(const Principal& who, const ConversationKey& key) override {
    return core_.guard("clear_conversation", who, [&] { return conversations_.clear(who, key); });
  }
  Result<Conversation> mark_read(const Principal& who, const ConversationKey& key,
                                 std::int64_t last_read_message_id) override {
    return core_.guard("mark_read", who, [&] { return conversations_.mark_read(who, key, last_read_message_id); });
  }
  Result<std::int64_t> purge(const Principal& who) override {
    return core_.guard("purge", who, [&] { return conversations_.purge(who); });
  }

  // ---- messages
  Result<PostResult> post_message(const Principal& who, const ConversationKey& key, NewMessage m) override {
    return core_.guard("post_message", who, [&] { return messages_.post(who, key, std::move(m)); });
  }
  Result<Message> get_message(const Principal& who, const MessageKey& key) override {
    return core_.guard("get_message", who, [&] { return messages_.get(who, key); });
  }
  Result<Page<Message>> list_messages(const Principal& who, const ConversationKey& key, MessageQuery q) override {
    return core_.guard("list_messages", who, [&] { return messages_.list(who, key, std::move(q)); });
  }
  Result<Message> edit_message(const Principal& who, const MessageKey& key, const MessagePatch& patch) override {
    return core_.guard("edit_message", who, [&] { return messages_.edit(who, key, patch); });
  }
  Result<std::vector<MessageVersion>> list_message_versions(const Principal& who, const MessageKey& key) override {
    return core_.guard("list_message_versions", who, [&] { return messages_.versions(who, key); });
  }
  Status delete_message(const Principal& who, const MessageKey& key) override {
    return core_.guard("delete_message", who, [&] { return messages_.remove(who, key); });
  }
  Result<Message> restore_message(const Principal& who, const MessageKey& key) override {
    return core_.guard("restore_message", who, [&] { return messages_.restore(who, key); });
  }
  Result<Page<SearchHit>> search_messages(const Principal& who, SearchQuery q) override {
    return core_.guard("search_messages", who, [&] { return messages_.search(who, std::move(q)); });
  }
  Result<ThreadMessages> list_thread_messages(const Principal& who, const ConversationKey& key,
                                              MessageQuery q) override {
    return core_.guard("list_thread_messages", who, [&] { return messages_.list_thread(who, key, std::move(q)); });
  }
  Result<ThreadMessage> get_thread_message(const Principal& who, const MessageKey& key) override {
    return core_.guard("get_thread_message", who, [&] { return messages_.get_thread(who, key); });
  }
  Result<std::vector<Message>> wait_for_messages(const Principal& who, const ConversationKey& key,
                                                 std::int64_t after_id, std::chrono::milliseconds timeout,
                                                 std::stop_token stop) override {
    return core_.guard("wait_for_messages", who, [&] { return messages_.wait(who, key, after_id, timeout, stop); });
  }

  // ---- AI replies
  Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r) override {
    return core_.guard("reply", who, [&] { return replies_.reply(who, key, std::move(r), nullptr); });
  }
  Result<ReplyResult> reply_stream(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                   const StreamCallback& on_chunk) override {
    return core_.guard("reply_stream", who, [&] { return replies_.reply(who, key, std::move(r), &on_chunk); });
  }
  Status check_reply(const Principal& who, const ConversationKey& key, const ReplyRequest& r) override {
    return core_.guard("check_reply", who, [&] { return replies_.check(who, key, r); });
  }

  // ---- live updates
  Result<std::unique_ptr<EventStream>> open_event_stream(const Principal& who, const ConversationKey& key,
                                                         std::optional<std::int64_t> after_id,
                                                         EventListener listener) override {
    return core_.guard("open_event_stream", who,
                       [&] { return streams_.open(who, key, after_id, std::move(listener)); });
  }
  Status send_typing(const Principal& who, const ConversationKey& key, bool active) override {
    return core_.guard("send_typing", who, [&] { return streams_.typing(who, key, active); });
  }

  // ---- registries
  Result<Agent> put_agent(const Principal& who, Agent a) override {
    return core_.guard("put_agent", who, [&] { return registries_.put_agent(who, std::move(a)); });
  }
  Result<Agent> get_agent(const Principal& who, std::int64_t id) override {
    return core_.guard("get_agent", who, [&] { return registries_.get_agent(who, id); });
  }
  Result<std::vector<Agent>> list_agents(const Principal& who) override {
    return core_.guard("list_agents", who, [&] { return registries_.list_agents(who); });
  }
  Result<Subject> put_subject(const Principal& who, Subject s) override {
    return core_.guard("put_subject", who, [&] { return registries_.put_subject(who, std::move(s)); });
  }
  Result<Subject> get_subject(const Principal& who, std::string_view id) override {
    return core_.guard("get_subject", who, [&] { return registries_.get_subject(who, id); });
  }
  Result<Profile> put_profile(const Principal& who, Profile p) override {
    return core_.guard("put_profile", who, [&] { return registries_.put_profile(who, std::move(p)); });
  }
  Result<Profile> get_profile(const Principal& who) override {
    return core_.guard("get_profile", who, [&] { return registries_.get_profile(who); });
  }
  Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q) override {
    return core_.guard("list_audit", who, [&] { return registries_.list_audit(who, q); });
  }

  // ---- seeds 002 / 003: support desk
  Result<SupportPostResult> post_support_message(const Principal& who, SupportPost p) override {
    return core_.guard("post_support_message", who, [&] { return support_desk_.post(who, std::move(p)); });
  }
  Result<Dashboard> analytics_dashboard(const Principal& who, const DashboardQuery& q) override {
    return core_.guard("analytics_dashboard", who, [&] { return reports_.dashboard(who, q); });
  }
  Result<GlobalAnalytics> analytics_global(const Principal& who) override {
    return core_.guard("analytics_global", who, [&] { return reports_.global(who); });
  }
  Result<std::vector<ActivityPeriod>> list_activity_periods(const Principal& who,
                                                            const ConversationKey& key) override {
    return core_.guard("list_activity_periods", who, [&] { return reports_.activity_periods(who, key); });
  }
  void shutdown() noexcept override {
    core_.hub.shutdown();
    core_.calls.shutdown();
  }

  // ---- seed 004: resume-coach sessions
  Result<CoachStartResult> start_coach_session(const Principal& who, CoachStart s) override {
    return core_.guard("start_coach_session", who, [&] { return coach_.start(who, std::move(s)); });
  }
  Result<CoachSession> get_coach_session(const Principal& who, const ConversationKey& key) override {
    return core_.guard("get_coach_session", who, [&] { return coach_.get(who, key); });
  }
  Result<Page<CoachSession>> list_coach_sessions(const Principal& who, const CoachSessionQuery& q) override {
    return core_.guard("list_coach_sessions", who, [&] { return coach_.list(who, q); });
  }
  Result<CoachContextSections> get_coach_context(const Principal& who, const ConversationKey& key) override {
    return core_.guard("get_coach_context", who, [&] { return coach_.context(who, key); });
  }

 private:
  // Declaration order is construction order: each part gets the parts it uses.
  ServiceCore core_;
  Registries registries_{core_};
  KeyLookup keys_{core_};
  Conversations conversations_{core_, keys_, registries_};
  Messages messages_{core_, keys_};
  Replies replies_{core_, keys_, messages_, registries_};
  SupportDesk support_desk_{core_, keys_, conversations_, messages_};
  Reports reports_{core_, keys_};
  CoachSessions coach_{core_, keys_, conversations_, replies_};
  EventStreams streams_{core_, keys_};
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
  if (options.event_retention.count() < 0)
    return Error::invalid("event_retention", "event_retention must not be negative");
  const ModelCallBounds& b = options.model_calls;
  if (b.max_concurrent < 0 || b.deadline.count() < 0 || b.first_chunk_timeout.count() < 0 || b.default_max_tokens < 0)
    return Error::invalid("model_calls", "model call bounds must not be negative");
  try {
    return std::unique_ptr<ChatService>(std::make_unique<detail::ServiceImpl>(std::move(deps), std::move(options)));
  } catch (const std::exception&) {
    return Error::internal("could not create the chat service");
  }
}

}  // namespace chat
