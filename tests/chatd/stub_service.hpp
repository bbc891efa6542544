// stub_service.hpp: a ChatService for daemon tests that need no store.
//
// Every operation answers Error::not_found("stub"). A test that needs an
// operation to do something derives from StubChatService and overrides it:
//
//   struct Svc : chatd_test::StubChatService {
//     chat::Result<chat::Conversation> get_conversation(const chat::Principal&, const chat::ConversationKey&) override {
//       return chat::Conversation{};
//     }
//   };
#pragma once

#include "chat/service.hpp"

namespace chatd_test {

class StubChatService : public chat::ChatService {
 public:
  static chat::Error stub() { return chat::Error::not_found("stub"); }

  chat::ServiceLimits limits() const noexcept override {
    const chat::ServiceOptions defaults;
    return {defaults.max_page, defaults.max_wait};
  }

  chat::Result<chat::Conversation> create_conversation(const chat::Principal&, chat::NewConversation) override {
    return stub();
  }
  chat::Result<chat::Conversation> get_conversation(const chat::Principal&, const chat::ConversationKey&) override {
    return stub();
  }
  chat::Result<chat::Page<chat::Conversation>> list_conversations(const chat::Principal&,
                                                                  chat::ConversationQuery) override {
    return stub();
  }
  chat::Result<chat::Conversation> update_conversation(const chat::Principal&, const chat::ConversationKey&,
                                                       const chat::ConversationPatch&) override {
    return stub();
  }
  chat::Status delete_conversation(const chat::Principal&, const chat::ConversationKey&) override { return stub(); }
  chat::Result<chat::Conversation> restore_conversation(const chat::Principal&, const chat::ConversationKey&) override {
    return stub();
  }
  chat::Result<std::int64_t> clear_conversation(const chat::Principal&, const chat::ConversationKey&) override {
    return stub();
  }
  chat::Result<chat::Conversation> mark_read(const chat::Principal&, const chat::ConversationKey&,
                                             std::int64_t) override {
    return stub();
  }
  chat::Result<std::int64_t> purge(const chat::Principal&) override { return stub(); }

  chat::Result<chat::PostResult> post_message(const chat::Principal&, const chat::ConversationKey&,
                                              chat::NewMessage) override {
    return stub();
  }
  chat::Result<chat::Message> get_message(const chat::Principal&, const chat::MessageKey&) override { return stub(); }
  chat::Result<chat::Page<chat::Message>> list_messages(const chat::Principal&, const chat::ConversationKey&,
                                                        chat::MessageQuery) override {
    return stub();
  }
  chat::Status check_reply(const chat::Principal&, const chat::ConversationKey&, const chat::ReplyRequest&) override {
    return stub();
  }
  chat::Result<std::unique_ptr<chat::EventStream>> open_event_stream(const chat::Principal&,
                                                                     const chat::ConversationKey&,
                                                                     std::optional<std::int64_t>,
                                                                     chat::EventListener) override {
    return stub();
  }
  chat::Status send_typing(const chat::Principal&, const chat::ConversationKey&, bool) override { return stub(); }
  chat::Result<chat::ThreadMessages> list_thread_messages(const chat::Principal&, const chat::ConversationKey&,
                                                          chat::MessageQuery) override {
    return stub();
  }
  chat::Result<chat::ThreadMessage> get_thread_message(const chat::Principal&, const chat::MessageKey&) override {
    return stub();
  }
  chat::Result<chat::Message> edit_message(const chat::Principal&, const chat::MessageKey&,
                                           const chat::MessagePatch&) override {
    return stub();
  }
  chat::Result<std::vector<chat::MessageVersion>> list_message_versions(const chat::Principal&,
                                                                        const chat::MessageKey&) override {
    return stub();
  }
  chat::Status delete_message(const chat::Principal&, const chat::MessageKey&) override { return stub(); }
  chat::Result<chat::Message> restore_message(const chat::Principal&, const chat::MessageKey&) override {
    return stub();
  }
  chat::Result<chat::Page<chat::SearchHit>> search_messages(const chat::Principal&, chat::SearchQuery) override {
    return stub();
  }
  chat::Result<std::vector<chat::Message>> wait_for_messages(const chat::Principal&, const chat::ConversationKey&,
                                                             std::int64_t, std::chrono::milliseconds,
                                                             std::stop_token) override {
    return stub();
  }

  chat::Result<chat::ReplyResult> reply(const chat::Principal&, const chat::ConversationKey&,
                                        chat::ReplyRequest) override {
    return stub();
  }
  chat::Result<chat::ReplyResult> reply_stream(const chat::Principal&, const chat::ConversationKey&,
                                               chat::ReplyRequest, const chat::StreamCallback&) override {
    return stub();
  }

  chat::Result<chat::Agent> put_agent(const chat::Principal&, chat::Agent) override { return stub(); }
  chat::Result<chat::Agent> get_agent(const chat::Principal&, std::int64_t) override { return stub(); }
  chat::Result<std::vector<chat::Agent>> list_agents(const chat::Principal&) override { return stub(); }
  chat::Result<chat::Subject> put_subject(const chat::Principal&, chat::Subject) override { return stub(); }
  chat::Result<chat::Subject> get_subject(const chat::Principal&, std::string_view) override { return stub(); }
  chat::Result<chat::Profile> put_profile(const chat::Principal&, chat::Profile) override { return stub(); }
  chat::Result<chat::Profile> get_profile(const chat::Principal&) override { return stub(); }
  chat::Result<std::vector<chat::AuditEntry>> list_audit(const chat::Principal&, const chat::AuditQuery&) override {
    return stub();
  }
  // seeds 002 / 003
  chat::Result<chat::SupportPostResult> post_support_message(const chat::Principal&, chat::SupportPost) override {
    return stub();
  }
  chat::Result<chat::Dashboard> analytics_dashboard(const chat::Principal&, const chat::DashboardQuery&) override {
    return stub();
  }
  chat::Result<chat::GlobalAnalytics> analytics_global(const chat::Principal&) override { return stub(); }
  chat::Result<std::vector<chat::ActivityPeriod>> list_activity_periods(const chat::Principal&,
                                                                        const chat::ConversationKey&) override {
    return stub();
  }
  void shutdown() noexcept override {}
  // seed 004
  chat::Result<chat::CoachStartResult> start_coach_session(const chat::Principal&, chat::CoachStart) override {
    return stub();
  }
  chat::Result<chat::CoachSession> get_coach_session(const chat::Principal&, const chat::ConversationKey&) override {
    return stub();
  }
  chat::Result<chat::Page<chat::CoachSession>> list_coach_sessions(const chat::Principal&,
                                                                   const chat::CoachSessionQuery&) override {
    return stub();
  }
  chat::Result<chat::CoachContextSections> get_coach_context(const chat::Principal&,
                                                             const chat::ConversationKey&) override {
    return stub();
  }
};

}  // namespace chatd_test
