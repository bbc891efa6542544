// post_message checks access, role and expiry on the conversation as the
// store's append sees it: a change committed between the caller naming the
// conversation and the append is never missed.
#include "service/service_fixture.hpp"
#include "store/forwarding_store.hpp"

using namespace svc_test;

namespace {

// Forwards everything to a real store; runs `before_append` (once) when an
// append starts, which is where a concurrent change would land.
class RacingStore final : public chat::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::function<void()> before_append;
  std::function<void(NewMessage&)> tamper_first;  // changes the first message of a new conversation
  int lookups = 0;  // conversation lookups (by id, uuid or handle)

  Result<Conversation> get_conversation(std::int64_t id, bool include_deleted) override {
    ++lookups;
    return inner().get_conversation(id, include_deleted);
  }
  Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted) override {
    ++lookups;
    return inner().find_conversation_by_uuid(uuid, include_deleted);
  }
  Result<Conversation> find_conversation_by_handle(std::string_view handle, bool include_deleted) override {
    ++lookups;
    return inner().find_conversation_by_handle(handle, include_deleted);
  }
  Result<AppendOutcome> append_message(std::int64_t id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition) override {
    if (before_append) std::exchange(before_append, nullptr)();
    return inner().append_message(id, m, now, precondition);
  }
  Result<CreatedThread> create_conversation_with_message(const NewConversation& c, const NewMessage& m,
                                                         Timestamp now) override {
    NewMessage first = m;
    if (tamper_first) tamper_first(first);
    return inner().create_conversation_with_message(c, first, now);
  }
};

struct RacingFixture {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(from_millis(kStartMs));
  std::shared_ptr<Store> inner;
  std::shared_ptr<RacingStore> store;
  std::unique_ptr<ChatService> svc;

  RacingFixture() {
    inner = open_service_store();
    store = std::make_shared<RacingStore>(inner);
    ServiceDeps deps;
    deps.store = store;
    deps.clock = clock;
    auto made = make_chat_service(deps);
    REQUIRE(made.ok());
    svc = std::move(made).value();
  }

  Conversation create(const Principal& who, ConversationKind kind, std::string handle = {}) {
    NewConversation c;
    c.kind = kind;
    c.handle = std::move(handle);
    auto r = svc->create_conversation(who, c);
    REQUIRE(r.ok());
    return *r;
  }

  std::int64_t total_messages(std::int64_t id) {
    auto c = inner->get_conversation(id, true);
    REQUIRE(c.ok());
    return c->total_messages;
  }
};

NewMessage msg(std::string content, std::string client_id = {}, Role role = Role::kUser) {
  NewMessage m;
  m.role = role;
  m.content = std::move(content);
  m.client_id = std::move(client_id);
  return m;
}

}  // namespace

TEST_CASE("service: a post is checked against the conversation as the append sees it", "[service]") {
  RacingFixture f;
  const Conversation c = f.create(kAlice, ConversationKind::kSupport);
  const AuditContext audit{"test", f.clock->now()};

  SECTION("by id: no lookup before the append") {
    f.store->lookups = 0;
    auto r = f.svc->post_message(kAlice, ConversationKey::of_id(c.id), msg("hi"));
    REQUIRE(r.ok());
    CHECK_FALSE(r->replayed);
    CHECK(f.store->lookups == 0);
  }
  SECTION("deactivated after it was named: kGone, nothing written") {
    f.store->before_append = [&] {
      ConversationPatch off;
      off.is_active = false;
      REQUIRE(f.inner->update_conversation(c.id, off, f.clock->now()).ok());
    };
    for (const auto& key : {ConversationKey::of_id(c.id), ConversationKey::of_uuid(c.uuid)}) {
      auto r = f.svc->post_message(kAlice, key, msg("late"));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == ErrorCode::kGone);
      CHECK(f.total_messages(c.id) == 0);
    }
  }
  SECTION("expired after it was named: kGone, nothing written") {
    ConversationPatch soon;
    soon.expires_at = f.clock->now() + std::chrono::seconds(10);
    REQUIRE(f.svc->update_conversation(kAlice, ConversationKey::of_id(c.id), soon).ok());
    f.store->before_append = [&] { f.clock->advance(std::chrono::seconds(10)); };
    auto r = f.svc->post_message(kAlice, ConversationKey::of_uuid(c.uuid), msg("late"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kGone);
    CHECK(f.total_messages(c.id) == 0);
  }
  SECTION("deleted after it was named: kNotFound, nothing written") {
    f.store->before_append = [&] { REQUIRE(f.inner->soft_delete_conversation(c.id, audit).ok()); };
    auto r = f.svc->post_message(kAlice, ConversationKey::of_uuid(c.uuid), msg("late"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kNotFound);
    CHECK(r.error().message == "conversation not found");
    CHECK(f.total_messages(c.id) == 0);
  }
  SECTION("closed after a first post: a retry is still a replay, a new post is kGone") {
    auto first = f.svc->post_message(kAlice, ConversationKey::of_id(c.id), msg("hello", "c-1"));
    REQUIRE(first.ok());
    ConversationPatch off;
    off.is_active = false;
    REQUIRE(f.inner->update_conversation(c.id, off, f.clock->now()).ok());
    auto retry = f.svc->post_message(kAlice, ConversationKey::of_id(c.id), msg("hello", "c-1"));
    REQUIRE(retry.ok());
    CHECK(retry->replayed);
    CHECK(retry->message.id == first->message.id);
    auto changed = f.svc->post_message(kAlice, ConversationKey::of_id(c.id), msg("other text", "c-1"));
    REQUIRE_FALSE(changed.ok());
    CHECK(changed.error().code == ErrorCode::kConflict);
    auto fresh = f.svc->post_message(kAlice, ConversationKey::of_id(c.id), msg("new", "c-2"));
    REQUIRE_FALSE(fresh.ok());
    CHECK(fresh.error().code == ErrorCode::kGone);
    CHECK(f.total_messages(c.id) == 1);
  }
}

TEST_CASE("service: post resolves every kind of key and refuses what the caller may not write", "[service]") {
  RacingFixture f;
  const Conversation s = f.create(kAnon, ConversationKind::kSession, "sess-1");
  const Conversation mine = f.create(kAlice, ConversationKind::kSupport);

  CHECK(f.svc->post_message(kAgent, ConversationKey::of_id(s.id), msg("a")).ok());  // by id: staff only
  CHECK(f.svc->post_message(kAnon, ConversationKey::of_uuid(s.uuid), msg("b")).ok());
  CHECK(f.svc->post_message(kAnon, ConversationKey::of_handle("sess-1"), msg("c")).ok());
  CHECK(f.svc->post_message(kAnon, ConversationKey::of_any("sess-1", ConversationKind::kSession), msg("d")).ok());
  CHECK(f.svc->post_message(kAdmin, ConversationKey::of_any(std::to_string(s.id)), msg("e")).ok());
  CHECK(f.total_messages(s.id) == 5);

  auto not_found = [&](const Principal& who, const ConversationKey& key, Role role = Role::kUser) {
    auto r = f.svc->post_message(who, key, msg("x", {}, role));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kNotFound);
    CHECK(r.error().message == "conversation not found");
  };
  not_found(kAnon, ConversationKey::of_id(s.id));                                    // ownerless, by integer id
  not_found(kAlice, ConversationKey::of_any(std::to_string(s.id)));                  // and by its numeric fallback
  not_found(kAdmin, ConversationKey::of_id(s.id, ConversationKind::kSupport));       // kind mismatch by id
  not_found(kAnon, ConversationKey::of_handle("sess-1", ConversationKind::kQuote));  // and by handle
  not_found(kBob, ConversationKey::of_id(mine.id));                                  // someone else's
  not_found(kBob, ConversationKey::of_id(mine.id), Role::kSystem);                   // invisible beats role
  not_found(kAlice, ConversationKey::of_id(0));
  not_found(kAlice, ConversationKey::of_id(mine.id + 100));
  CHECK(f.total_messages(s.id) == 5);
  CHECK(f.total_messages(mine.id) == 0);

  // Role rules still apply, before expiry.
  auto agent_role = f.svc->post_message(kAlice, ConversationKey::of_id(mine.id), msg("x", {}, Role::kAgent));
  REQUIRE_FALSE(agent_role.ok());
  CHECK(agent_role.error().code == ErrorCode::kPermissionDenied);
  ConversationPatch off;
  off.is_active = false;
  REQUIRE(f.inner->update_conversation(mine.id, off, f.clock->now()).ok());
  auto denied = f.svc->post_message(kAlice, ConversationKey::of_id(mine.id), msg("x", {}, Role::kSystem));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == ErrorCode::kPermissionDenied);
  CHECK(f.total_messages(mine.id) == 0);
}

TEST_CASE("service: the reply's user message is checked against the row as the append sees it",
          "[service][safety]") {
  RacingFixture f;
  const Conversation c = f.create(kAnon, ConversationKind::kSession, "landing");
  f.store->before_append = [&] {
    ConversationPatch off;
    off.is_active = false;
    REQUIRE(f.inner->update_conversation(c.id, off, f.clock->now()).ok());
  };
  ReplyRequest r;
  r.content = "are you there?";
  auto out = f.svc->reply(kAnon, cap(c), r);
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().code == ErrorCode::kGone);
  CHECK(f.total_messages(c.id) == 0);  // neither the question nor an answer
}

TEST_CASE("service: a seed 002 post is checked against the row as the append sees it", "[service][safety]") {
  RacingFixture f;
  SupportPost first;
  first.content = "hello";
  auto opened = f.svc->post_support_message(kAnon, first);
  REQUIRE(opened.ok());
  const Conversation c = opened->conversation;
  f.store->before_append = [&] {
    ConversationPatch off;
    off.is_active = false;
    REQUIRE(f.inner->update_conversation(c.id, off, f.clock->now()).ok());
  };
  SupportPost late;
  late.conversation = c.uuid;
  late.content = "still there?";
  auto r = f.svc->post_support_message(kAnon, late);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kGone);
  CHECK(f.total_messages(c.id) == 1);
}

TEST_CASE("service: a seed 002 post that opens a conversation commits it with its first message",
          "[service][safety]") {
  RacingFixture f;
  SupportPost p;
  p.content = "first words";
  p.name = "Ann";
  auto ok = f.svc->post_support_message(kAnon, p);
  REQUIRE(ok.ok());
  CHECK(ok->created_conversation);
  CHECK(ok->conversation.total_messages == 1);
  CHECK(ok->conversation.name == "Ann");
  REQUIRE(ok->messages.size() == 1);
  CHECK(ok->messages[0].id == ok->message.id);
  CHECK(ok->message.conversation_id == ok->conversation.id);

  ConversationQuery all;
  all.kind = ConversationKind::kSupport;
  all.include_deleted = true;
  const auto before = f.inner->list_conversations(all)->total;
  // The first message fails in the store (its uuid is taken): no empty conversation is left behind.
  f.store->tamper_first = [&](NewMessage& m) { m.uuid = ok->message.uuid; };
  auto failed = f.svc->post_support_message(kAnon, p);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::kConflict);
  CHECK(f.inner->list_conversations(all)->total == before);
}
