// Validation, idempotent posts, expiry, soft deletes, purge, read marks and
// registries through ChatService.
#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

template <typename R>
void check_invalid(const R& r, const std::string& field) {
  INFO("expected invalid_argument on " << field);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  CHECK(r.error().field == field);
}

}  // namespace

TEST_CASE("service: every validation error names its field and writes nothing", "[service]") {
  ServiceOptions o;
  o.max_content_bytes = 100;
  o.max_metadata_bytes = 50;
  o.max_context_bytes = 64;
  o.max_page = 20;
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  const std::int64_t messages_before = f.last_message_id();
  const std::int64_t conversations_before = f.conversation_count();

  auto post = [&](NewMessage m) { return f.svc->post_message(kAlice, key(c), std::move(m)); };
  NewMessage m;
  m.content = "";
  check_invalid(post(m), "content");
  m.content = std::string(101, 'x');
  check_invalid(post(m), "content");
  m.content = "\xff\xfe bad utf8";
  check_invalid(post(m), "content");
  m.content = "ok";
  m.metadata = "[1,2]";
  check_invalid(post(m), "metadata");
  m.metadata = "{not json";
  check_invalid(post(m), "metadata");
  m.metadata = R"({"k":")" + std::string(60, 'v') + "\"}";
  check_invalid(post(m), "metadata");
  m.metadata = "{}";
  m.client_id = std::string(129, 'c');
  check_invalid(post(m), "client_id");
  m.client_id = "";
  m.uuid = "not-a-uuid";
  check_invalid(post(m), "uuid");
  m.uuid = "";
  m.tokens_used = -1;
  check_invalid(post(m), "tokens_used");
  m.tokens_used.reset();
  m.content_type = "";
  check_invalid(post(m), "content_type");
  m.content_type = "text";

  auto create = [&](NewConversation nc) { return f.svc->create_conversation(kAlice, std::move(nc)); };
  NewConversation nc;
  nc.handle = "has space";
  check_invalid(create(nc), "handle");
  nc.handle = std::string(129, 'h');
  check_invalid(create(nc), "handle");
  nc.handle = "";
  nc.title = std::string(256, 't');
  check_invalid(create(nc), "title");
  nc.title = "ok";
  nc.initial_context = std::string(65, 'i');
  check_invalid(create(nc), "initial_context");
  nc.initial_context = "";
  nc.metadata = "\"string\"";
  check_invalid(create(nc), "metadata");
  nc.metadata = "{}";
  nc.expires_at = from_millis(kStartMs);  // not in the future
  check_invalid(create(nc), "expires_at");
  nc.expires_at.reset();
  nc.type = "";
  check_invalid(create(nc), "type");

  ConversationQuery q;
  q.limit = 0;
  check_invalid(f.svc->list_conversations(kAlice, q), "limit");
  q.limit = 21;
  check_invalid(f.svc->list_conversations(kAlice, q), "limit");
  q.limit = 20;
  q.offset = -1;
  check_invalid(f.svc->list_conversations(kAlice, q), "offset");
  MessageQuery mq;
  mq.limit = 0;
  check_invalid(f.svc->list_messages(kAlice, key(c), mq), "limit");
  mq.limit = 10;
  mq.offset = -5;
  check_invalid(f.svc->list_messages(kAlice, key(c), mq), "offset");
  SearchQuery sq;
  sq.text = "  ";
  check_invalid(f.svc->search_messages(kAlice, sq), "text");
  sq.text = "x";
  sq.limit = 1000;
  check_invalid(f.svc->search_messages(kAlice, sq), "limit");

  ConversationPatch patch;
  patch.title = std::string(300, 'x');
  check_invalid(f.svc->update_conversation(kAlice, key(c), patch), "title");
  patch.title.reset();
  patch.metadata = "[]";
  check_invalid(f.svc->update_conversation(kAlice, key(c), patch), "metadata");

  ReplyRequest rr;
  rr.content = std::string(101, 'x');
  check_invalid(f.svc->reply(kAlice, key(c), rr), "content");
  rr.content = "ok";
  rr.temperature = 5;
  check_invalid(f.svc->reply(kAlice, key(c), rr), "temperature");
  rr.temperature.reset();
  rr.max_tokens = 0;
  check_invalid(f.svc->reply(kAlice, key(c), rr), "max_tokens");

  check_invalid(f.svc->wait_for_messages(kAlice, key(c), 0, -1ms), "timeout");
  check_invalid(f.svc->mark_read(kAlice, key(c), -1), "last_read_message_id");

  Agent a;
  check_invalid(f.svc->put_agent(kAdmin, a), "name");
  Subject s;
  check_invalid(f.svc->put_subject(kAlice, s), "title");
  Profile p;
  p.skills = "{\"not\":\"an array\"}";
  check_invalid(f.svc->put_profile(kAlice, p), "skills");

  // Nothing was written.
  CHECK(f.last_message_id() == messages_before);
  CHECK(f.conversation_count() == conversations_before);
  auto after = f.svc->get_conversation(kAlice, key(c));
  REQUIRE(after.ok());
  CHECK(after->title == "t");
  CHECK(after->total_messages == 0);
  CHECK(f.svc->list_agents(kAdmin)->empty());
}

TEST_CASE("service: posts are idempotent on client_id", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  NewMessage m;
  m.content = "hello";
  m.client_id = "m-1";
  auto first = f.svc->post_message(kAlice, key(c), m);
  REQUIRE(first.ok());
  CHECK_FALSE(first->replayed);
  auto again = f.svc->post_message(kAlice, key(c), m);
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->message.id == first->message.id);
  CHECK(again->message.uuid == first->message.uuid);

  NewMessage different = m;
  different.content = "something else";
  auto conflict = f.svc->post_message(kAlice, key(c), different);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().code == ErrorCode::kConflict);
  CHECK(conflict.error().field == "client_id");
  NewMessage other_role = m;
  other_role.role = Role::kAssistant;
  auto conflict2 = f.svc->post_message(kAlice, key(c), other_role);
  REQUIRE_FALSE(conflict2.ok());
  CHECK(conflict2.error().field == "client_id");

  auto conv = f.svc->get_conversation(kAlice, key(c));
  REQUIRE(conv.ok());
  CHECK(conv->total_messages == 1);

  // The same client_id in another conversation is another message.
  const Conversation c2 = f.create(kAlice);
  auto elsewhere = f.svc->post_message(kAlice, key(c2), m);
  REQUIRE(elsewhere.ok());
  CHECK_FALSE(elsewhere->replayed);

  // Once the message is deleted, the client_id is free again.
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(first->message.id)).ok());
  auto reused = f.svc->post_message(kAlice, key(c), different);
  REQUIRE(reused.ok());
  CHECK_FALSE(reused->replayed);
}

TEST_CASE("service: expired and deactivated conversations refuse writes, reads still work", "[service]") {
  Fixture f;
  NewConversation nc;
  nc.kind = ConversationKind::kSession;
  auto created = f.svc->create_conversation(kAnon, nc);
  REQUIRE(created.ok());
  const Conversation s = *created;
  const Message before = f.post(kAnon, s, "before expiry", Role::kUser, "c-1");

  f.clock->advance(std::chrono::hours(24));  // exactly at expires_at: expired
  NewMessage m;
  m.content = "too late";
  auto late = f.svc->post_message(kAnon, cap(s), m);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code == ErrorCode::kGone);
  CHECK(late.error().message.find("session expired at 2024-06-30T10:00:00.000Z") != std::string::npos);
  ReplyRequest rr;
  rr.content = "reply?";
  auto reply = f.svc->reply(kAnon, cap(s), rr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kGone);
  MessagePatch p;
  p.content = "edited";
  auto edit = f.svc->edit_message(kAnon, MessageKey::of_id(before.id), p);
  REQUIRE_FALSE(edit.ok());
  CHECK(edit.error().code == ErrorCode::kGone);

  // Reads work; a retry of a post that succeeded earlier is still answered.
  CHECK(f.svc->get_conversation(kAnon, cap(s)).ok());
  auto msgs = f.svc->list_messages(kAnon, cap(s), {});
  REQUIRE(msgs.ok());
  REQUIRE(msgs->items.size() == 1);
  CHECK(msgs->items[0].content == "before expiry");
  NewMessage retry;
  retry.content = "before expiry";
  retry.client_id = "c-1";
  auto replay = f.svc->post_message(kAnon, cap(s), retry);
  REQUIRE(replay.ok());
  CHECK(replay->replayed);
  CHECK(f.last_message_id() == before.id);

  // Extending the session makes it writable again.
  ConversationPatch extend;
  extend.expires_at = f.clock->now() + std::chrono::hours(1);
  REQUIRE(f.svc->update_conversation(kAnon, cap(s), extend).ok());
  CHECK(f.svc->post_message(kAnon, cap(s), m).ok());

  // Deactivated (seed 004): kGone as well.
  const Conversation coach = f.create(kAlice, ConversationKind::kCoach);
  ConversationPatch off;
  off.is_active = false;
  REQUIRE(f.svc->update_conversation(kAlice, key(coach), off).ok());
  auto inactive = f.svc->post_message(kAlice, key(coach), m);
  REQUIRE_FALSE(inactive.ok());
  CHECK(inactive.error().code == ErrorCode::kGone);
  CHECK(f.svc->get_conversation(kAlice, key(coach)).ok());
}

TEST_CASE("service: soft deletes vanish from every read path and restore brings them back", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice, ConversationKind::kSupport, "findme");
  const Message keep = f.post(kAlice, c, "keep this zebra");
  const Message gone = f.post(kAlice, c, "remove this zebra", Role::kUser, "gone-1");
  const Message agent_msg = f.post(kAgent, c, "agent zebra", Role::kAgent);

  auto count_messages = [&](const Principal& who) {
    auto r = f.svc->list_messages(who, key(c), {});
    REQUIRE(r.ok());
    CHECK(r->total == static_cast<std::int64_t>(r->items.size()));
    return r->items.size();
  };
  auto search = [&](const Principal& who) {
    SearchQuery q;
    q.text = "zebra";
    auto r = f.svc->search_messages(who, q);
    REQUIRE(r.ok());
    return r->items.size();
  };
  CHECK(count_messages(kAlice) == 3);
  CHECK(search(kAlice) == 3);

  // Message delete.
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(gone.id)).ok());
  CHECK(count_messages(kAlice) == 2);
  CHECK(search(kAlice) == 2);
  CHECK(search(kAdmin) == 2);
  CHECK_FALSE(f.svc->get_message(kAlice, MessageKey::of_id(gone.id)).ok());
  CHECK_FALSE(f.svc->get_message(kAlice, MessageKey::of_uuid(gone.uuid)).ok());
  CHECK_FALSE(f.svc->get_message(kAlice, MessageKey::of_client_id(key(c), "gone-1")).ok());
  auto conv = f.svc->get_conversation(kAlice, key(c));
  REQUIRE(conv.ok());
  CHECK(conv->total_messages == 2);
  // Admins can ask for deleted rows.
  MessageQuery with_deleted;
  with_deleted.include_deleted = true;
  auto admin_view = f.svc->list_messages(kAdmin, key(c), with_deleted);
  REQUIRE(admin_view.ok());
  CHECK(admin_view->items.size() == 3);
  // Restore.
  auto restored = f.svc->restore_message(kAlice, MessageKey::of_id(gone.id));
  REQUIRE(restored.ok());
  CHECK_FALSE(restored->deleted_at.has_value());
  CHECK(count_messages(kAlice) == 3);
  CHECK(search(kAlice) == 3);
  auto twice = f.svc->restore_message(kAlice, MessageKey::of_id(gone.id));  // already live: a no-op
  REQUIRE(twice.ok());
  CHECK(twice->id == gone.id);
  CHECK(f.svc->restore_conversation(kAlice, key(c))->id == c.id);

  // Conversation delete.
  REQUIRE(f.svc->delete_conversation(kAlice, key(c)).ok());
  CHECK_FALSE(f.svc->get_conversation(kAlice, key(c)).ok());
  CHECK_FALSE(f.svc->get_conversation(kAdmin, key(c)).ok());
  CHECK_FALSE(f.svc->list_messages(kAlice, key(c), {}).ok());
  CHECK_FALSE(f.svc->get_message(kAlice, MessageKey::of_id(keep.id)).ok());
  CHECK(search(kAlice) == 0);
  CHECK(search(kAdmin) == 0);
  ConversationQuery q;
  auto listed = f.svc->list_conversations(kAlice, q);
  REQUIRE(listed.ok());
  CHECK(listed->items.empty());
  CHECK(listed->total == 0);
  ConversationQuery by_search;
  by_search.search = "findme";
  CHECK(f.svc->list_conversations(kAdmin, by_search)->items.empty());
  ConversationQuery support;
  support.kind = ConversationKind::kSupport;
  CHECK(f.svc->list_conversations(kAgent, support)->items.empty());
  ConversationQuery admin_deleted;
  admin_deleted.include_deleted = true;
  CHECK(f.svc->list_conversations(kAdmin, admin_deleted)->items.size() == 1);
  NewMessage m;
  m.content = "into the void";
  CHECK(f.svc->post_message(kAlice, key(c), m).error().code == ErrorCode::kNotFound);
  CHECK_FALSE(f.svc->get_conversation(kBob, key(c)).ok());
  CHECK(f.svc->restore_conversation(kBob, key(c)).error().code == ErrorCode::kNotFound);

  auto back = f.svc->restore_conversation(kAlice, key(c));
  REQUIRE(back.ok());
  CHECK(back->total_messages == 3);
  CHECK(search(kAlice) == 3);
  CHECK(f.svc->list_conversations(kAlice, q)->items.size() == 1);
  (void)agent_msg;
}

TEST_CASE("service: purge removes rows deleted longer ago than the retention", "[service]") {
  ServiceOptions o;
  o.retention = std::chrono::hours(24 * 30);
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  const Message old_msg = f.post(kAlice, c, "old");
  const Message recent = f.post(kAlice, c, "recent");
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(old_msg.id)).ok());
  f.clock->advance(std::chrono::hours(24 * 20));
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(recent.id)).ok());
  f.clock->advance(std::chrono::hours(24 * 11));  // old: 31 days ago, recent: 11 days

  auto purged = f.svc->purge(kAdmin);
  REQUIRE(purged.ok());
  CHECK(*purged == 1);
  CHECK_FALSE(f.svc->restore_message(kAlice, MessageKey::of_id(old_msg.id)).ok());
  CHECK(f.svc->restore_message(kAlice, MessageKey::of_id(recent.id)).ok());

  AuditQuery aq;
  auto audit = f.svc->list_audit(kAdmin, aq);
  REQUIRE(audit.ok());
  bool saw_purge = false;
  for (const auto& e : *audit)
    if (e.action == "purge") {
      saw_purge = true;
      CHECK(e.actor == "root");
    }
  CHECK(saw_purge);
}

TEST_CASE("service: clear returns the count and leaves an audit entry", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice, ConversationKind::kQuote);
  f.post(kAlice, c, "one");
  f.post(kAlice, c, "two", Role::kAssistant);
  f.post(kAlice, c, "three");
  f.clock->advance(5s);
  auto cleared = f.svc->clear_conversation(kAlice, key(c));
  REQUIRE(cleared.ok());
  CHECK(*cleared == 3);
  CHECK(f.svc->list_messages(kAlice, key(c), {})->items.empty());
  CHECK(f.svc->get_conversation(kAlice, key(c))->total_messages == 0);
  auto again = f.svc->clear_conversation(kAlice, key(c));
  REQUIRE(again.ok());
  CHECK(*again == 0);

  AuditQuery aq;
  aq.conversation_id = c.id;
  auto audit = f.svc->list_audit(kAdmin, aq);
  REQUIRE(audit.ok());
  REQUIRE_FALSE(audit->empty());
  bool found = false;
  for (const auto& e : *audit) {
    if (e.action != "conversation.clear" || e.target_id != c.id) continue;
    if (e.detail.find("3") == std::string::npos) continue;
    found = true;
    CHECK(e.actor == "alice");
    CHECK(e.at == from_millis(kStartMs) + 5s);
  }
  CHECK(found);
}

TEST_CASE("service: mark_read clears the unread count", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  f.post(kAlice, c, "question");
  const Message a1 = f.post(kAgent, c, "answer 1", Role::kAgent);
  f.post(kAgent, c, "answer 2", Role::kAgent);
  CHECK(f.svc->get_conversation(kAlice, key(c))->unread_count == 2);
  // The count is the owner's: an agent who sees the conversation cannot clear it.
  auto by_agent = f.svc->mark_read(kAgent, key(c));
  REQUIRE_FALSE(by_agent.ok());
  CHECK(by_agent.error().code == ErrorCode::kPermissionDenied);
  CHECK(f.svc->get_conversation(kAlice, key(c))->unread_count == 2);
  auto partial = f.svc->mark_read(kAlice, key(c), a1.id);
  REQUIRE(partial.ok());
  CHECK(partial->unread_count == 1);
  auto all = f.svc->mark_read(kAlice, key(c));
  REQUIRE(all.ok());
  CHECK(all->unread_count == 0);
  f.post(kAgent, c, "answer 3", Role::kAgent);
  CHECK(f.svc->get_conversation(kAlice, key(c))->unread_count == 1);
  // Deleting an unread message takes it out of the count.
  auto page = f.svc->list_messages(kAlice, key(c), {});
  REQUIRE(f.svc->delete_message(kAgent, MessageKey::of_id(page->items.back().id)).ok());
  CHECK(f.svc->get_conversation(kAlice, key(c))->unread_count == 0);
}

TEST_CASE("service: registries", "[service]") {
  Fixture f;
  Agent a;
  a.name = "Support Bot";
  a.system_prompt = "Be brief.";
  a.model = "gpt-x";
  auto put = f.svc->put_agent(kAdmin, a);
  REQUIRE(put.ok());
  CHECK(put->id > 0);
  CHECK(put->system_prompt == "Be brief.");
  // The system prompt is the operator's: admins see it, everyone else gets it withheld.
  auto by_admin = f.svc->get_agent(kAdmin, put->id);
  REQUIRE(by_admin.ok());
  CHECK(by_admin->system_prompt == "Be brief.");
  CHECK_FALSE(by_admin->system_prompt_hidden);
  CHECK(f.svc->list_agents(kAdmin)->at(0).system_prompt == "Be brief.");
  for (const Principal& who : {kAnon, kAlice, kAgent}) {
    auto got = f.svc->get_agent(who, put->id);
    REQUIRE(got.ok());
    CHECK(got->name == "Support Bot");
    CHECK(got->model == "gpt-x");
    CHECK(got->system_prompt.empty());
    CHECK(got->system_prompt_hidden);
    auto all = f.svc->list_agents(who);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    CHECK(all->at(0).system_prompt.empty());
    CHECK(all->at(0).system_prompt_hidden);
  }
  CHECK(f.svc->get_agent(kAlice, put->id + 99).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->list_agents(kBob)->size() == 1);

  Subject job;
  job.title = "Fix the roof";
  job.description = "Leaking since May";
  auto subj = f.svc->put_subject(kAlice, job);
  REQUIRE(subj.ok());
  CHECK(is_uuid(subj->id));
  CHECK(subj->created_by == "alice");
  CHECK(f.svc->get_subject(kBob, subj->id).ok());
  CHECK(f.svc->get_subject(kBob, "unknown").error().code == ErrorCode::kNotFound);
  Subject steal = *subj;
  steal.title = "Mine now";
  auto stolen = f.svc->put_subject(kBob, steal);
  REQUIRE_FALSE(stolen.ok());
  CHECK(stolen.error().code == ErrorCode::kConflict);
  Subject own = *subj;
  own.title = "Fix the roof, urgently";
  CHECK(f.svc->put_subject(kAlice, own).ok());
  CHECK(f.svc->get_subject(kAlice, subj->id)->title == "Fix the roof, urgently");

  // Quote and coach conversations need a known subject.
  NewConversation quote;
  quote.kind = ConversationKind::kQuote;
  quote.subject = "no-such-job";
  auto bad_quote = f.svc->create_conversation(kAlice, quote);
  REQUIRE_FALSE(bad_quote.ok());
  CHECK(bad_quote.error().code == ErrorCode::kNotFound);
  CHECK(bad_quote.error().field == "subject");
  quote.subject = subj->id;
  CHECK(f.svc->create_conversation(kAlice, quote).ok());
  NewConversation with_agent;
  with_agent.agent_id = put->id + 99;
  auto bad_agent = f.svc->create_conversation(kAlice, with_agent);
  REQUIRE_FALSE(bad_agent.ok());
  CHECK(bad_agent.error().code == ErrorCode::kNotFound);
  CHECK(bad_agent.error().field == "agent_id");

  auto empty = f.svc->get_profile(kAlice);
  REQUIRE(empty.ok());
  CHECK(empty->skills == "[]");
  Profile p;
  p.user_id = "bob";  // ignored: the caller's own profile
  p.skills = R"(["C++", "SQL"])";
  auto saved = f.svc->put_profile(kAlice, p);
  REQUIRE(saved.ok());
  CHECK(saved->user_id == "alice");
  CHECK(f.svc->get_profile(kAlice)->skills == R"(["C++","SQL"])");
  CHECK(f.svc->get_profile(kBob)->skills == "[]");
}

TEST_CASE("service: make_chat_service checks its dependencies and options", "[service]") {
  auto no_store = make_chat_service(ServiceDeps{});
  REQUIRE_FALSE(no_store.ok());
  CHECK(no_store.error().code == ErrorCode::kInvalidArgument);
  auto store = open_memory_store();
  REQUIRE(store.ok());
  ServiceDeps deps;
  deps.store = std::shared_ptr<Store>(std::move(store).value());
  ServiceOptions bad;
  bad.context_tokens = 100;
  bad.reply_tokens = 100;
  CHECK_FALSE(make_chat_service(deps, bad).ok());
  auto ok = make_chat_service(deps);  // null llm, clock, logger, tokens: defaults
  REQUIRE(ok.ok());
  NewConversation c;
  auto conv = (*ok)->create_conversation(kAlice, c);
  REQUIRE(conv.ok());
  ReplyRequest r;
  r.content = "hi";
  auto reply = (*ok)->reply(kAlice, key(*conv), r);
  REQUIRE(reply.ok());
  CHECK(reply->assistant_message.content == "Echo: hi");
}

TEST_CASE("service: an edit is audited and keeps a version, versions are for admins", "[service][safety]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  auto m = f.post(kAlice, c, "my address is 1 Main St");
  MessagePatch p;
  p.content = "my address is [removed]";
  REQUIRE(f.svc->edit_message(kAlice, MessageKey::of_id(m.id), p).ok());

  AuditQuery q;
  q.conversation_id = c.id;
  auto audit = f.svc->list_audit(kAdmin, q);
  REQUIRE(audit.ok());
  REQUIRE(audit->size() == 1);
  CHECK((*audit)[0].action == "message.edit");
  CHECK((*audit)[0].actor == "alice");
  CHECK((*audit)[0].target_id == m.id);

  auto versions = f.svc->list_message_versions(kAdmin, MessageKey::of_uuid(m.uuid));
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 1);
  CHECK((*versions)[0].content == "my address is 1 Main St");
  CHECK((*versions)[0].replaced_by == "alice");
  for (const Principal& who : {kAlice, kAgent, kAnon}) {
    auto denied = f.svc->list_message_versions(who, MessageKey::of_id(m.id));
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().code == ErrorCode::kPermissionDenied);
  }
  CHECK(f.svc->list_message_versions(kAdmin, MessageKey::of_id(m.id + 99)).error().code == ErrorCode::kNotFound);
}
