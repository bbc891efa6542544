// A Store that forwards every call to another one: the base of the test
// fakes that change one or two methods (a store on a shared database that
// reports other instances' changes, a failing publish, ...).
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/store.hpp"

namespace chat::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::shared_ptr<Store> inner) : s_(std::move(inner)) {}
  Store& inner() { return *s_; }

  Result<Conversation> create_conversation(const NewConversation& c, Timestamp now) override {
    return s_->create_conversation(c, now);
  }
  Result<Conversation> get_conversation(std::int64_t id, bool include_deleted) override {
    return s_->get_conversation(id, include_deleted);
  }
  Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted) override {
    return s_->find_conversation_by_uuid(uuid, include_deleted);
  }
  Result<Conversation> find_conversation_by_handle(std::string_view handle, bool include_deleted) override {
    return s_->find_conversation_by_handle(handle, include_deleted);
  }
  Result<Page<Conversation>> list_conversations(const ConversationQuery& q) override {
    return s_->list_conversations(q);
  }
  Result<Conversation> update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) override {
    return s_->update_conversation(id, p, now);
  }
  Status soft_delete_conversation(std::int64_t id, const AuditContext& audit) override {
    return s_->soft_delete_conversation(id, audit);
  }
  Result<Conversation> restore_conversation(std::int64_t id, const AuditContext& audit) override {
    return s_->restore_conversation(id, audit);
  }
  Result<std::int64_t> clear_conversation(std::int64_t id, const AuditContext& audit) override {
    return s_->clear_conversation(id, audit);
  }
  Result<Conversation> mark_read(std::int64_t id, std::int64_t up_to, Timestamp now) override {
    return s_->mark_read(id, up_to, now);
  }
  Result<AppendOutcome> append_message(std::int64_t id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition) override {
    return s_->append_message(id, m, now, precondition);
  }
  Result<CreatedThread> create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                         Timestamp now) override {
    return s_->create_conversation_with_message(c, m, now);
  }
  Result<Message> get_message(std::int64_t id, bool include_deleted) override {
    return s_->get_message(id, include_deleted);
  }
  Result<Message> find_message_by_uuid(std::string_view uuid, bool include_deleted) override {
    return s_->find_message_by_uuid(uuid, include_deleted);
  }
  Result<Message> find_message_by_client_id(std::int64_t id, std::string_view client_id) override {
    return s_->find_message_by_client_id(id, client_id);
  }
  Result<Page<Message>> list_messages(std::int64_t id, const MessageQuery& q) override {
    return s_->list_messages(id, q);
  }
  Result<std::vector<ContextMessage>> list_context(std::int64_t id, const ContextQuery& q) override {
    return s_->list_context(id, q);
  }
  Result<Message> update_message(std::int64_t id, const MessagePatch& p, const AuditContext& audit) override {
    return s_->update_message(id, p, audit);
  }
  Result<std::vector<MessageVersion>> list_message_versions(std::int64_t id) override {
    return s_->list_message_versions(id);
  }
  Status soft_delete_message(std::int64_t id, const AuditContext& audit) override {
    return s_->soft_delete_message(id, audit);
  }
  Result<Message> restore_message(std::int64_t id, const AuditContext& audit) override {
    return s_->restore_message(id, audit);
  }
  Result<Page<SearchHit>> search_messages(const SearchQuery& q) override { return s_->search_messages(q); }
  Result<std::int64_t> last_message_id() override { return s_->last_message_id(); }
  Result<Agent> put_agent(const Agent& a, Timestamp now) override { return s_->put_agent(a, now); }
  Result<Agent> get_agent(std::int64_t id) override { return s_->get_agent(id); }
  Result<std::vector<Agent>> list_agents() override { return s_->list_agents(); }
  Result<Subject> put_subject(const Subject& s, Timestamp now) override { return s_->put_subject(s, now); }
  Result<Subject> get_subject(std::string_view id) override { return s_->get_subject(id); }
  Result<Profile> put_profile(const Profile& p, Timestamp now) override { return s_->put_profile(p, now); }
  Result<Profile> get_profile(std::string_view user_id) override { return s_->get_profile(user_id); }
  Result<std::vector<AuditEntry>> list_audit(const AuditQuery& q) override { return s_->list_audit(q); }
  Result<std::int64_t> purge(Timestamp before, const AuditContext& audit) override {
    return s_->purge(before, audit);
  }
  Result<std::int64_t> flush_search_index() override { return s_->flush_search_index(); }
  Result<ActivityLog> activity(const ActivityQuery& q) override { return s_->activity(q); }
  Result<EventPage> list_events(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                ByteBudget budget) override {
    return s_->list_events(conversation_id, after_id, limit, budget);
  }
  Result<std::int64_t> last_event_id() override { return s_->last_event_id(); }
  Result<std::int64_t> trim_events(Timestamp before, std::int64_t max_rows) override {
    return s_->trim_events(before, max_rows);
  }
  void set_change_listener(ChangeListener listener) override { s_->set_change_listener(std::move(listener)); }
  Status publish_ephemeral(std::int64_t conversation_id, std::string_view payload) override {
    return s_->publish_ephemeral(conversation_id, payload);
  }
  Result<ActivitySummary> activity_summary(const ActivitySummaryQuery& q) override {
    return s_->activity_summary(q);
  }
  Result<ActivityTotals> activity_totals(std::optional<ConversationKind> kind) override {
    return s_->activity_totals(kind);
  }

 protected:
  std::shared_ptr<Store> s_;
};

}  // namespace chat::testing
