// Rules that used to live in chatd's route handlers, now the service's:
// the agent side of a support conversation (seed 003), one page maximum and
// one wait cap (limits()), the empty-patch rule (seed 000), not-found wording
// by the key's kind (seed 001).
#include <catch2/catch.hpp>

#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

TEST_CASE("service: the agent side of a support conversation picks the role from the caller", "[service][seed003]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  NewMessage m;
  m.content = "on the desk's side";
  m.agent_side = true;
  m.role = Role::kSystem;  // ignored: agent_side decides
  auto by_user = f.svc->post_message(kAlice, key(c), m);
  REQUIRE(by_user.ok());
  CHECK(by_user->message.role == Role::kAssistant);  // writing for the AI persona
  auto by_agent = f.svc->post_message(kAgent, key(c), m);
  REQUIRE(by_agent.ok());
  CHECK(by_agent->message.role == Role::kAgent);  // a human agent
  auto by_admin = f.svc->post_message(kAdmin, key(c), m);
  REQUIRE(by_admin.ok());
  CHECK(by_admin->message.role == Role::kAgent);
  m.agent_side = false;
  m.role = Role::kUser;
  auto plain = f.svc->post_message(kAgent, key(c), m);
  REQUIRE(plain.ok());
  CHECK(plain->message.role == Role::kUser);
}

TEST_CASE("service: limits() are the one page maximum and the one wait cap", "[service][limits]") {
  CHECK(ServiceOptions{}.max_wait == 30s);  // docs/seed-002.md: wait= is capped at 30 s
  CHECK(ServiceOptions{}.max_page == 1000);
  Fixture defaults;
  CHECK(defaults.svc->limits().max_page == 1000);
  CHECK(defaults.svc->limits().max_wait == 30s);

  ServiceOptions o;
  o.max_page = 5;
  o.max_wait = 100ms;
  Fixture f(o);
  CHECK(f.svc->limits().max_page == 5);
  CHECK(f.svc->limits().max_wait == 100ms);
  const Conversation c = f.create(kAlice);
  MessageQuery q;
  q.limit = f.svc->limits().max_page;
  CHECK(f.svc->list_messages(kAlice, key(c), q).ok());
  q.limit = f.svc->limits().max_page + 1;
  CHECK(f.svc->list_messages(kAlice, key(c), q).error().field == "limit");
  // A client's long wait is passed as it is: the service caps it.
  const auto t0 = std::chrono::steady_clock::now();
  auto waited = f.svc->wait_for_messages(kAlice, key(c), 0, std::chrono::hours(1));
  REQUIRE(waited.ok());
  CHECK(waited->empty());
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("service: a message patch that changes nothing is refused", "[service][seed000]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  const Message m = f.post(kAlice, c, "hello", Role::kUser, "m1");
  auto empty = f.svc->edit_message(kAlice, MessageKey::of_id(m.id), MessagePatch{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == ErrorCode::kInvalidArgument);
  CHECK(empty.error().field == "content");
  CHECK(empty.error().message == "content: content or metadata is required");
  // Judged before the message is looked up (seed 000 answers 400, not 404).
  CHECK(f.svc->edit_message(kAlice, MessageKey::of_id(m.id + 100), MessagePatch{}).error().code ==
        ErrorCode::kInvalidArgument);
  MessagePatch meta;
  meta.metadata = R"({"final": true})";
  CHECK(f.svc->edit_message(kAlice, MessageKey::of_id(m.id), meta).ok());
  MessagePatch status;
  status.status = MessageStatus::kRead;
  CHECK(f.svc->edit_message(kAlice, MessageKey::of_id(m.id), status).ok());
}

TEST_CASE("service: not-found errors are worded by the key's kind", "[service][keys][seed001]") {
  Fixture f;
  auto missing = [&](const ConversationKey& k) {
    auto r = f.svc->get_conversation(kAnon, k);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kNotFound);
    return r.error().message;
  };
  CHECK(missing(ConversationKey::of_any("nope", ConversationKind::kSession)) == "session not found");
  CHECK(missing(ConversationKey::of_handle("nope", ConversationKind::kSession)) == "session not found");
  CHECK(missing(ConversationKey::of_any("nope", ConversationKind::kSupport)) == "conversation not found");
  CHECK(missing(ConversationKey::of_any("nope")) == "conversation not found");
  // Another kind's conversation reads like a missing session.
  auto support = f.create(kAnon);
  CHECK(missing(ConversationKey::of_uuid(support.uuid, ConversationKind::kSession)) == "session not found");
  NewMessage m;
  m.content = "x";
  CHECK(f.svc->post_message(kAnon, ConversationKey::of_any("nope", ConversationKind::kSession), m).error().message ==
        "session not found");
  ReplyRequest r;
  r.content = "x";
  CHECK(f.svc->reply(kAnon, ConversationKey::of_any("nope", ConversationKind::kSession), r).error().message ==
        "session not found");
  // Messages keep their own wording.
  CHECK(f.svc->get_message(kAnon, MessageKey::of_uuid("00000000-0000-4000-8000-000000000000")).error().message ==
        "message not found");
}

TEST_CASE("service: every operation refuses a non-anonymous caller without a user id", "[service]") {
  Fixture f;
  const Principal nameless{"", PrincipalRole::kUser};
  const Conversation c = f.create(kAlice);
  CHECK(f.svc->get_conversation(nameless, key(c)).error().code == ErrorCode::kUnauthenticated);
  CHECK(f.svc->list_agents(nameless).error().code == ErrorCode::kUnauthenticated);
  CHECK(f.svc->list_coach_sessions(nameless, {}).error().code == ErrorCode::kUnauthenticated);
  CHECK(f.svc->analytics_global(Principal{"", PrincipalRole::kAdmin}).error().code == ErrorCode::kUnauthenticated);
  CHECK(f.svc->get_agent(nameless, 1).error().message == "the caller has no user id");
}
