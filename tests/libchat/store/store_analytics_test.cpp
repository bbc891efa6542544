// Store analytics inputs (seeds 002/003): activity() and activity_totals()
// return live rows only, on every factory of store_factories() (the
// PostgreSQL store computes them by other SQL: the figures must agree).
#include <catch2/catch.hpp>

#include "chat/sqlite_store.hpp"
#include "chat/uuid.hpp"
#include "store/store_fixture.hpp"

using namespace chat;

namespace {

constexpr std::int64_t kT0 = 1'719'655'200'000;  // 2024-06-29T10:00:00Z

Conversation conv(Store& s, const std::string& user, std::optional<std::int64_t> agent, std::int64_t at,
                  ConversationKind kind = ConversationKind::kSupport) {
  NewConversation c;
  c.kind = kind;
  c.uuid = generate_uuid_v4();
  c.user_id = user;
  c.agent_id = agent;
  auto r = s.create_conversation(c, from_millis(at));
  REQUIRE(r.ok());
  return *r;
}

Message msg(Store& s, const Conversation& c, Role role, std::int64_t at, MessageStatus st = MessageStatus::kSent) {
  NewMessage m;
  m.uuid = generate_uuid_v4();
  m.role = role;
  m.content = "x";
  m.status = st;
  auto r = s.append_message(c.id, m, from_millis(at));
  REQUIRE(r.ok());
  return r->message;
}

}  // namespace

TEST_CASE("activity lists live conversations and messages in order", "[store][analytics]") {
  auto factory = GENERATE(from_range(chat::testing::store_factories()));
  INFO(factory);
  chat::testing::TempDir dir;
  auto s = chat::testing::open_test_store(factory, dir);
  Agent a;
  a.name = "Bot";
  auto agent = s->put_agent(a, from_millis(kT0));
  REQUIRE(agent.ok());
  auto c1 = conv(*s, "u1", agent->id, kT0);
  auto c2 = conv(*s, "u1", std::nullopt, kT0 + 5);
  auto c3 = conv(*s, "u2", agent->id, kT0 + 6);
  auto c4 = conv(*s, "u1", std::nullopt, kT0 + 7, ConversationKind::kSession);
  msg(*s, c2, Role::kUser, kT0 + 10);
  msg(*s, c1, Role::kUser, kT0 + 11);
  auto gone = msg(*s, c1, Role::kAssistant, kT0 + 12);
  msg(*s, c1, Role::kAssistant, kT0 + 13, MessageStatus::kFailed);
  msg(*s, c3, Role::kAssistant, kT0 + 14);
  msg(*s, c4, Role::kUser, kT0 + 15);
  REQUIRE(s->soft_delete_message(gone.id, AuditContext{"u1", from_millis(kT0 + 20)}).ok());

  ActivityQuery q;
  q.user_id = "u1";
  q.kind = ConversationKind::kSupport;
  auto log = s->activity(q);
  REQUIRE(log.ok());
  REQUIRE(log->conversations.size() == 2);
  CHECK(log->conversations[0].id == c1.id);
  CHECK(log->conversations[0].agent_id == agent->id);
  CHECK_FALSE(log->conversations[1].agent_id);
  REQUIRE(log->messages.size() == 3);  // c1: user, failed assistant; c2: user (deleted one absent)
  CHECK(log->messages[0].conversation_id == c1.id);
  CHECK(log->messages[1].status == MessageStatus::kFailed);
  CHECK(log->messages[2].conversation_id == c2.id);
  CHECK(to_millis(log->messages[2].created_at) == kT0 + 10);

  ActivityQuery one;
  one.conversation_id = c4.id;
  CHECK(s->activity(one)->messages.size() == 1);

  REQUIRE(s->soft_delete_conversation(c2.id, AuditContext{"u1", from_millis(kT0 + 30)}).ok());
  auto after = s->activity(q);
  REQUIRE(after.ok());
  CHECK(after->conversations.size() == 1);
  CHECK(after->messages.size() == 2);

  auto t = s->activity_totals(ConversationKind::kSupport);
  REQUIRE(t.ok());
  CHECK(t->conversations == 2);  // c1, c3
  CHECK(t->owned_conversations == 2);
  CHECK(t->owners == 2);
  CHECK(t->messages == 3);
  REQUIRE(t->agents.size() == 1);
  CHECK(t->agents[0].agent_id == agent->id);
  CHECK(t->agents[0].name == "Bot");
  CHECK(t->agents[0].conversations == 2);
  CHECK(t->agents[0].replies == 2);
  CHECK(t->agents[0].failed_replies == 1);

  auto all = s->activity_totals(std::nullopt);
  REQUIRE(all.ok());
  CHECK(all->conversations == 3);
  CHECK(all->messages == 4);
}
