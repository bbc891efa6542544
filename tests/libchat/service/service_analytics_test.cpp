// Seeds 002/003 service operations: support posts, analytics, sessions,
// reply reuse of the latest user message, shutdown of waits.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <latch>
#include <thread>

#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

// Posts `content` as `role` at the fixture clock's current time, then moves the clock by `after`.
Message post_at(Fixture& f, const Principal& who, const Conversation& c, const std::string& content, Role role,
                std::chrono::milliseconds after = 0ms, MessageStatus status = MessageStatus::kSent) {
  NewMessage m;
  m.role = role;
  m.content = content;
  m.status = status;
  auto r = f.svc->post_message(who, key(c), m);
  if (!r.ok()) FAIL("post failed: " << r.error().message);
  f.clock->advance(after);
  return r->message;
}

Conversation create_with_agent(Fixture& f, const Principal& who, std::optional<std::int64_t> agent) {
  NewConversation nc;
  nc.kind = ConversationKind::kSupport;
  nc.title = "t";
  nc.agent_id = agent;
  auto r = f.svc->create_conversation(who, nc);
  REQUIRE(r.ok());
  return *r;
}

std::int64_t make_agent(Fixture& f, const std::string& name) {
  Agent a;
  a.name = name;
  auto r = f.svc->put_agent(kAdmin, a);
  REQUIRE(r.ok());
  return r->id;
}

// The fixed data set of docs/seed-003.md "Analytics: the test data set".
struct DataSet {
  std::int64_t agent_a = 0, agent_b = 0;
  Conversation c1, c2, c3, c4;
};

DataSet build(Fixture& f) {
  DataSet d;
  d.agent_a = make_agent(f, "Support Bot");
  d.agent_b = make_agent(f, "Sales Bot");
  // Day 0, 2024-06-29 10:00:00.
  d.c1 = create_with_agent(f, kAlice, d.agent_a);
  post_at(f, kAlice, d.c1, "hello", Role::kUser, 2s);
  post_at(f, kAlice, d.c1, "hi, how can I help", Role::kAssistant, 598s);  // 10:00:02, reply after 2 s
  post_at(f, kAlice, d.c1, "my order", Role::kUser, 4s);                   // 10:10:00
  post_at(f, kAlice, d.c1, "which order", Role::kAssistant, 2996s);        // 10:10:04, 4 s
  post_at(f, kAlice, d.c1, "order 12345", Role::kUser, 10s);               // 11:00:00 (new session)
  post_at(f, kAgent, d.c1, "a human here", Role::kAgent, 0s);              // 11:00:10, 10 s
  // Day 1, 2024-06-30 09:00:00.
  f.clock->set(from_millis(kStartMs + 23 * 3'600'000LL));
  d.c2 = create_with_agent(f, kAlice, d.agent_b);
  post_at(f, kAlice, d.c2, "pricing?", Role::kUser, 6s);                     // 09:00:00
  post_at(f, kAlice, d.c2, "plans start at 5", Role::kAssistant, 54s);       // 09:00:06, 6 s
  auto deleted = post_at(f, kAlice, d.c2, "gone soon", Role::kUser, 30s);    // 09:01:00, deleted below
  post_at(f, kAlice, d.c2, "anything else?", Role::kAssistant, 30s);        // 09:01:30
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(deleted.id)).ok());
  // A deleted conversation with agent B and messages: counts nowhere.
  d.c3 = create_with_agent(f, kAlice, d.agent_b);                            // 09:02:00
  post_at(f, kAlice, d.c3, "secret", Role::kUser, 1s);
  post_at(f, kAlice, d.c3, "secret reply", Role::kAssistant, 1s);
  REQUIRE(f.svc->delete_conversation(kAlice, key(d.c3)).ok());
  // Bob's conversation with agent A; one failed reply.
  d.c4 = create_with_agent(f, kBob, d.agent_a);
  post_at(f, kBob, d.c4, "bob here", Role::kUser, 1s);
  post_at(f, kBob, d.c4, "broken", Role::kAssistant, 1s, MessageStatus::kFailed);
  // An ownerless customer chat (seed 002).
  SupportPost p;
  p.content = "anonymous hello";
  REQUIRE(f.svc->post_support_message(kAnon, p).ok());
  return d;
}

}  // namespace

TEST_CASE("dashboard figures on the fixed data set", "[service][analytics]") {
  Fixture f;
  auto d = build(f);
  auto r = f.svc->analytics_dashboard(kAlice, DashboardQuery{7});
  REQUIRE(r.ok());
  CHECK(r->total_conversations == 2);  // c1, c2 (c3 deleted)
  CHECK(r->total_messages == 9);       // 6 + 3 (one deleted message, c3 deleted)
  REQUIRE(r->average_response_time);
  CHECK(*r->average_response_time == Approx(5.5));  // (2 + 4 + 10 + 6) / 4
  REQUIRE(r->most_active_agent);
  CHECK(r->most_active_agent->agent_id == d.agent_a);  // 2 assistant messages each: lowest id wins
  CHECK(r->most_active_agent->name == "Support Bot");
  CHECK(r->most_active_agent->message_count == 2);
  REQUIRE(r->daily_stats.size() == 7);
  CHECK(r->daily_stats.front().date == "2024-06-24");
  CHECK(r->daily_stats[5].date == "2024-06-29");
  CHECK(r->daily_stats[5].conversations == 1);
  CHECK(r->daily_stats[5].messages == 6);
  CHECK(r->daily_stats[6].date == "2024-06-30");
  CHECK(r->daily_stats[6].conversations == 1);
  CHECK(r->daily_stats[6].messages == 3);
  CHECK(r->daily_stats[0].messages == 0);
  CHECK(r->total_activity_periods == 3);
  REQUIRE(r->average_activity_period_minutes);
  CHECK(*r->average_activity_period_minutes == Approx(3.91));  // (604 + 10 + 90) s / 3 in minutes

  auto bob = f.svc->analytics_dashboard(kBob, DashboardQuery{1});
  REQUIRE(bob.ok());
  CHECK(bob->total_conversations == 1);
  CHECK(bob->total_messages == 2);
  CHECK(bob->daily_stats.size() == 1);
  CHECK(bob->most_active_agent->message_count == 1);

  CHECK(f.svc->analytics_dashboard(kAlice, DashboardQuery{0}).error().field == "days");
  CHECK(f.svc->analytics_dashboard(kAlice, DashboardQuery{367}).error().field == "days");
  CHECK(f.svc->analytics_dashboard(kAnon, DashboardQuery{}).error().code == ErrorCode::kUnauthenticated);

  Fixture empty;
  auto e = empty.svc->analytics_dashboard(kAlice, DashboardQuery{});
  REQUIRE(e.ok());
  CHECK(e->total_messages == 0);
  CHECK_FALSE(e->average_response_time);
  CHECK_FALSE(e->most_active_agent);
  CHECK_FALSE(e->average_activity_period_minutes);
}

TEST_CASE("global analytics on the fixed data set", "[service][analytics]") {
  Fixture f;
  auto d = build(f);
  CHECK(f.svc->analytics_global(kAlice).error().code == ErrorCode::kPermissionDenied);
  CHECK(f.svc->analytics_global(kAgent).error().code == ErrorCode::kPermissionDenied);
  auto g = f.svc->analytics_global(kAdmin);
  REQUIRE(g.ok());
  CHECK(g->total_conversations == 4);  // c1, c2, c4, the ownerless one
  CHECK(g->total_messages == 12);      // 9 + 2 + 1
  CHECK(g->users == 2);
  CHECK(g->average_conversations_per_user == Approx(1.5));
  REQUIRE(g->top_performing_agents.size() == 2);
  const auto& a = g->top_performing_agents[0];
  CHECK(a.agent_id == d.agent_a);
  CHECK(a.name == "Support Bot");
  CHECK(a.total_conversations == 2);
  CHECK(a.replies == 3);
  CHECK(a.failed_replies == 1);
  CHECK(*a.success_rate == Approx(66.7));
  const auto& b = g->top_performing_agents[1];
  CHECK(b.agent_id == d.agent_b);
  CHECK(b.total_conversations == 1);  // c3 is deleted
  CHECK(b.replies == 2);
  CHECK(*b.success_rate == Approx(100.0));
}

TEST_CASE("activity periods split on the idle gap and skip deleted messages", "[service][analytics]") {
  Fixture f;
  auto d = build(f);
  auto s = f.svc->list_activity_periods(kAlice, key(d.c1));
  REQUIRE(s.ok());
  REQUIRE(s->size() == 2);
  CHECK((*s)[0].message_count == 4);
  CHECK((*s)[0].duration_minutes == 10);
  CHECK(format_timestamp((*s)[0].start) == "2024-06-29T10:00:00.000Z");
  CHECK(format_timestamp((*s)[0].end) == "2024-06-29T10:10:04.000Z");
  CHECK((*s)[1].message_count == 2);
  CHECK((*s)[1].duration_minutes == 0);
  auto s2 = f.svc->list_activity_periods(kAlice, key(d.c2));
  REQUIRE(s2.ok());
  REQUIRE(s2->size() == 1);
  CHECK((*s2)[0].message_count == 3);
  CHECK((*s2)[0].duration_minutes == 1);
  CHECK(f.svc->list_activity_periods(kBob, key(d.c1)).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->list_activity_periods(kAlice, key(d.c3)).error().code == ErrorCode::kNotFound);
}

TEST_CASE("support post creates on missing, invalid or unknown conversations", "[service][seed002]") {
  Fixture f;
  SupportPost p;
  p.content = "first";
  p.name = "Ann";
  p.email = "ann@example.com";
  auto first = f.svc->post_support_message(kAnon, p);
  REQUIRE(first.ok());
  CHECK(first->created_conversation);
  CHECK(first->conversation.user_id.empty());
  CHECK(first->conversation.name == "Ann");
  CHECK(first->conversation.kind == ConversationKind::kSupport);
  CHECK(first->message.role == Role::kUser);
  REQUIRE(first->messages.size() == 1);

  SupportPost again;
  again.conversation = first->conversation.uuid;
  again.content = "second";
  auto second = f.svc->post_support_message(kAnon, again);
  REQUIRE(second.ok());
  CHECK_FALSE(second->created_conversation);
  CHECK(second->conversation.id == first->conversation.id);
  CHECK(second->messages.size() == 2);
  again.after_id = first->message.id;
  again.content = "third";
  auto third = f.svc->post_support_message(kAnon, again);
  REQUIRE(third.ok());
  CHECK(third->messages.size() == 2);  // second and third

  for (std::string bad : {"not-a-uuid", "3fa85f64-5717-4562-b3fc-2c963f66afa6", ""}) {
    SupportPost q;
    q.conversation = bad;
    q.content = "x";
    auto r = f.svc->post_support_message(kAnon, q);
    REQUIRE(r.ok());
    CHECK(r->created_conversation);
    CHECK(r->conversation.id != first->conversation.id);
  }

  // Logged in: owned by the user; another user's uuid is unknown to them.
  SupportPost mine;
  mine.content = "mine";
  auto alice = f.svc->post_support_message(kAlice, mine);
  REQUIRE(alice.ok());
  CHECK(alice->conversation.user_id == "alice");
  SupportPost steal;
  steal.conversation = alice->conversation.uuid;
  steal.content = "bob";
  auto bob = f.svc->post_support_message(kBob, steal);
  REQUIRE(bob.ok());
  CHECK(bob->created_conversation);
  CHECK(bob->conversation.user_id == "bob");

  // Agents answer as agent; they cannot open conversations.
  SupportPost answer;
  answer.conversation = alice->conversation.uuid;
  answer.content = "agent answer";
  auto ag = f.svc->post_support_message(kAgent, answer);
  REQUIRE(ag.ok());
  CHECK(ag->message.role == Role::kAgent);
  answer.conversation.clear();
  auto none = f.svc->post_support_message(kAgent, answer);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ErrorCode::kNotFound);
  CHECK(none.error().field == "conversation");

  // Bad input writes nothing.
  const auto before = f.last_message_id();
  const auto convs = f.conversation_count();
  SupportPost empty;
  CHECK(f.svc->post_support_message(kAnon, empty).error().field == "content");
  CHECK(f.last_message_id() == before);
  CHECK(f.conversation_count() == convs);
}

TEST_CASE("support post asks admit_new_conversation exactly when it opens one", "[service][seed002]") {
  Fixture f;
  int asked = 0;
  bool admit = true;
  const auto with_admission = [&](std::string conversation, std::string content) {
    SupportPost p;
    p.conversation = std::move(conversation);
    p.content = std::move(content);
    p.admit_new_conversation = [&]() -> Status {
      ++asked;
      if (admit) return {};
      return Error::resource_exhausted("rate limit: too many new conversations");
    };
    return p;
  };
  auto first = f.svc->post_support_message(kAlice, with_admission("", "first"));
  REQUIRE(first.ok());
  CHECK(asked == 1);
  // Whatever names no conversation of the caller's opens one, and is asked.
  for (std::string name : {"bogus", "3fa85f64-5717-4562-b3fc-2c963f66afa6"}) {
    REQUIRE(f.svc->post_support_message(kAlice, with_admission(name, "x"))->created_conversation);
  }
  REQUIRE(f.svc->post_support_message(kBob, with_admission(first->conversation.uuid, "x"))->created_conversation);
  CHECK(asked == 4);
  // A post to an existing conversation, an agent's post, bad input: never asked.
  REQUIRE(f.svc->post_support_message(kAlice, with_admission(first->conversation.uuid, "again")).ok());
  REQUIRE_FALSE(f.svc->post_support_message(kAgent, with_admission("", "x")).ok());
  REQUIRE_FALSE(f.svc->post_support_message(kAnon, with_admission("", "")).ok());
  CHECK(asked == 4);

  // Refused: its error as is, nothing stored.
  admit = false;
  const auto before = f.last_message_id();
  const auto convs = f.conversation_count();
  auto refused = f.svc->post_support_message(kAnon, with_admission("bogus", "x"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kResourceExhausted);
  CHECK(refused.error().message == "rate limit: too many new conversations");
  CHECK(asked == 5);
  CHECK(f.last_message_id() == before);
  CHECK(f.conversation_count() == convs);
  // A refused admission does not touch posts to existing conversations.
  CHECK(f.svc->post_support_message(kAlice, with_admission(first->conversation.uuid, "still")).ok());
}

TEST_CASE("reply reuses the newest live user message with the same content", "[service][reply]") {
  Fixture f;
  auto c = f.create(kAlice);
  f.post(kAlice, c, "My order number is #12345");
  ReplyRequest r;
  r.content = "My order number is #12345";
  r.reuse_latest_user_message = true;
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE(out.ok());
  auto page = f.svc->list_messages(kAlice, key(c), MessageQuery{});
  REQUIRE(page.ok());
  CHECK(page->total == 2);  // not stored twice
  CHECK(out->assistant_message.content == "Echo: My order number is #12345");

  // The newest message is now the answer: the same text is a new message.
  auto again = f.svc->reply(kAlice, key(c), r);
  REQUIRE(again.ok());
  CHECK(f.svc->list_messages(kAlice, key(c), MessageQuery{})->total == 4);

  // Without the flag the message is stored.
  f.post(kAlice, c, "twice");
  ReplyRequest plain;
  plain.content = "twice";
  REQUIRE(f.svc->reply(kAlice, key(c), plain).ok());
  CHECK(f.svc->list_messages(kAlice, key(c), MessageQuery{})->total == 7);
}

TEST_CASE("reply cost comes from the price table", "[service][reply]") {
  ServiceOptions o;
  o.prices = {{"echo", 1.0, 2.0}};
  Fixture f(o);
  auto c = f.create(kAlice);
  ReplyRequest r;
  r.content = "hello there";
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE(out.ok());
  const double expected = static_cast<double>(out->usage.prompt_tokens) / 1000.0 * 1.0 +
                          static_cast<double>(out->usage.completion_tokens) / 1000.0 * 2.0;
  CHECK(out->usage.cost == Approx(expected));
  CHECK(*out->assistant_message.cost == Approx(expected));
}

TEST_CASE("shutdown ends waits at once and later waits return immediately", "[service][wait]") {
  Fixture f;
  auto c = f.create(kAlice);
  std::latch started(1);
  auto waiting = std::async(std::launch::async, [&] {
    const auto start = std::chrono::steady_clock::now();
    started.count_down();
    // Parked or about to be: after shutdown() it returns at once either way.
    auto r = f.svc->wait_for_messages(kAlice, ConversationKey::of_uuid(c.uuid), 0, 20s);
    return std::make_pair(r.ok() && r->empty(), std::chrono::steady_clock::now() - start);
  });
  started.wait();
  f.svc->shutdown();
  auto [empty, took] = waiting.get();
  CHECK(empty);
  CHECK(took < 5s);
  const auto start = std::chrono::steady_clock::now();
  auto later = f.svc->wait_for_messages(kAlice, key(c), 0, 20s);
  REQUIRE(later.ok());
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  // Everything else keeps working.
  f.post(kAlice, c, "still works");
}

TEST_CASE("integer ids reach ownerless conversations for agents and admins only", "[service][keys]") {
  Fixture f;
  SupportPost p;
  p.content = "anonymous";
  auto posted = f.svc->post_support_message(kAnon, p);
  REQUIRE(posted.ok());
  const Conversation& c = posted->conversation;
  for (const auto& k : {ConversationKey::of_id(c.id, ConversationKind::kSupport), ConversationKey::of_id(c.id),
                        ConversationKey::of_any(std::to_string(c.id))}) {
    for (const auto& who : {kAnon, kAlice}) {
      auto got = f.svc->get_conversation(who, k);
      REQUIRE_FALSE(got.ok());
      CHECK(got.error().code == ErrorCode::kNotFound);
      CHECK(got.error().message == "conversation not found");
      CHECK(f.svc->delete_conversation(who, k).error().code == ErrorCode::kNotFound);
      NewMessage m;
      m.content = "guessed";
      CHECK(f.svc->post_message(who, k, m).error().code == ErrorCode::kNotFound);
      CHECK(f.svc->wait_for_messages(who, k, 0, 0ms).error().code == ErrorCode::kNotFound);
    }
    CHECK(f.svc->get_conversation(kAgent, k).ok());
    CHECK(f.svc->get_conversation(kAdmin, k).ok());
  }
  SearchQuery sq;
  sq.text = "anonymous";
  sq.conversation_id = c.id;
  CHECK(f.svc->search_messages(kAnon, sq).error().code == ErrorCode::kNotFound);
  // Uuids and handles are capabilities: anyone who holds one reaches the conversation.
  for (const auto& who : {kAnon, kAlice, kBob, kAgent, kAdmin}) {
    CHECK(f.svc->get_conversation(who, ConversationKey::of_uuid(c.uuid)).ok());
    CHECK(f.svc->get_conversation(who, ConversationKey::of_any(c.uuid)).ok());
  }
  NewConversation session;
  session.kind = ConversationKind::kSession;
  session.handle = "public-talk";
  auto s = f.svc->create_conversation(kAnon, session);
  REQUIRE(s.ok());
  for (const auto& who : {kAnon, kAlice, kAgent, kAdmin})
    CHECK(f.svc->get_conversation(who, ConversationKey::of_handle("public-talk")).ok());
  // Seed 001 words its not-found errors itself: no layer rewrites the text.
  auto hidden = f.svc->get_conversation(kAnon, ConversationKey::of_any(std::to_string(s->id), ConversationKind::kSession));
  REQUIRE_FALSE(hidden.ok());
  CHECK(hidden.error().message == "session not found");
  CHECK(f.svc->get_conversation(kAgent, ConversationKey::of_any(std::to_string(s->id))).ok());
  // Owned conversations keep the ownership rules, whatever the key.
  auto own = f.create(kAlice);
  CHECK(f.svc->get_conversation(kAlice, ConversationKey::of_id(own.id)).ok());
  CHECK(f.svc->get_conversation(kBob, ConversationKey::of_id(own.id)).error().code == ErrorCode::kNotFound);
}
