// ConversationKey::of_subject (seed 000 quote chats: one conversation per job,
// got or created in one race-free step), MessageKey kind scoping, check_reply
// (the pre-flight of an SSE reply) and the thread reads (seed 001).
#include <thread>

#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

void put_job(Fixture& f, const std::string& id) {
  Subject s;
  s.id = id;
  s.title = "job " + id;
  REQUIRE(f.svc->put_subject(kAlice, s).ok());
}

}  // namespace

TEST_CASE("service: of_subject creates the quote chat on first use and shares it", "[service]") {
  Fixture f;
  put_job(f, "job-1");
  const auto key = ConversationKey::of_subject("job-1", ConversationKind::kQuote);

  auto empty = f.svc->list_messages(kAlice, key, {});
  REQUIRE(empty.ok());
  CHECK(empty->items.empty());

  NewMessage m;
  m.client_id = "m1";
  m.content = "hello";
  auto posted = f.svc->post_message(kAlice, key, m);
  REQUIRE(posted.ok());
  CHECK(posted->conversation.kind == ConversationKind::kQuote);
  CHECK(posted->conversation.subject == "job-1");
  CHECK(posted->conversation.user_id.empty());  // shared by every authenticated caller

  // Bob (another user) sees the same chat.
  auto seen = f.svc->list_messages(kBob, key, {});
  REQUIRE(seen.ok());
  REQUIRE(seen->items.size() == 1);
  CHECK(seen->items[0].client_id == "m1");
  CHECK(f.conversation_count() == 1);

  // A client-chosen handle can never take the internal one.
  NewConversation squat;
  squat.kind = ConversationKind::kSession;
  squat.handle = "quote/job-2";
  auto refused = f.svc->create_conversation(kAnon, squat);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().field == "handle");

  // Another kind's key does not reach it.
  CHECK(f.svc->list_messages(kAlice, ConversationKey::of_any(posted->conversation.uuid, ConversationKind::kSession), {})
            .error()
            .code == ErrorCode::kNotFound);
}

TEST_CASE("service: of_subject of an unknown subject is not found naming subject, anonymous is refused",
          "[service]") {
  Fixture f;
  auto r = f.svc->list_messages(kAlice, ConversationKey::of_subject("nope", ConversationKind::kQuote), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kNotFound);
  CHECK(r.error().field == "subject");
  CHECK(f.conversation_count() == 0);

  put_job(f, "job-1");
  auto anon = f.svc->list_messages(kAnon, ConversationKey::of_subject("job-1", ConversationKind::kQuote), {});
  REQUIRE_FALSE(anon.ok());
  CHECK(anon.error().code == ErrorCode::kUnauthenticated);
  CHECK(f.conversation_count() == 0);
}

TEST_CASE("service: concurrent first uses of of_subject create one conversation", "[service]") {
  Fixture f;
  put_job(f, "race");
  const auto key = ConversationKey::of_subject("race", ConversationKind::kQuote);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      NewMessage m;
      m.client_id = std::to_string(1000 + i);
      m.content = std::string("x");  // (GCC 12 -Wrestrict false positive on = "x" here)
      if (f.svc->post_message(i % 2 ? kAlice : kBob, key, m).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 8);
  CHECK(f.conversation_count() == 1);
  auto all = f.svc->list_messages(kAlice, key, {});
  REQUIRE(all.ok());
  CHECK(all->items.size() == 8);
}

TEST_CASE("service: MessageKey with a kind does not reach messages of another kind", "[service]") {
  Fixture f;
  const Conversation support = f.create(kAnon, ConversationKind::kSupport);
  const Message m = f.post(kAnon, support, "hi");
  CHECK(f.svc->get_message(kAnon, MessageKey::of_uuid(m.uuid)).ok());
  CHECK(f.svc->get_message(kAnon, MessageKey::of_uuid(m.uuid, ConversationKind::kSupport)).ok());
  auto other = f.svc->get_message(kAnon, MessageKey::of_uuid(m.uuid, ConversationKind::kSession));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == ErrorCode::kNotFound);
  CHECK_FALSE(f.svc->delete_message(kAnon, MessageKey::of_uuid(m.uuid, ConversationKind::kSession)).ok());
  CHECK(f.svc->get_message(kAnon, MessageKey::of_uuid(m.uuid)).ok());
}

TEST_CASE("service: check_reply answers reply's refusals and stores nothing", "[service]") {
  Fixture f;
  const Conversation s = f.create(kAnon, ConversationKind::kSession);
  ReplyRequest r;
  r.content = "hi";
  CHECK(f.svc->check_reply(kAnon, cap(s), r).ok());
  CHECK(f.last_message_id() == 0);

  CHECK(f.svc->check_reply(kAnon, ConversationKey::of_handle("missing"), r).error().code == ErrorCode::kNotFound);
  ReplyRequest bad = r;
  bad.temperature = 9;
  CHECK(f.svc->check_reply(kAnon, cap(s), bad).error().field == "temperature");

  f.clock->advance(25h);  // past the 24 h default expiry
  CHECK(f.svc->check_reply(kAnon, cap(s), r).error().code == ErrorCode::kGone);
  CHECK(f.svc->reply(kAnon, cap(s), r).error().code == ErrorCode::kGone);
  CHECK(f.last_message_id() == 0);
}

TEST_CASE("service: thread reads answer the conversation with its messages", "[service]") {
  Fixture f;
  const Conversation s = f.create(kAnon, ConversationKind::kSession);
  const Message m = f.post(kAnon, s, "hi");
  f.post(kAnon, s, "there");
  auto t = f.svc->list_thread_messages(kAnon, ConversationKey::of_uuid(s.uuid, ConversationKind::kSession), {});
  REQUIRE(t.ok());
  CHECK(t->conversation.uuid == s.uuid);
  CHECK(t->messages.items.size() == 2);
  CHECK(t->messages.total == 2);
  auto one = f.svc->get_thread_message(kAnon, MessageKey::of_uuid(m.uuid, ConversationKind::kSession));
  REQUIRE(one.ok());
  CHECK(one->message.id == m.id);
  CHECK(one->conversation.id == s.id);
  CHECK(f.svc->get_thread_message(kAnon, MessageKey::of_uuid(m.uuid, ConversationKind::kQuote)).error().code ==
        ErrorCode::kNotFound);
  CHECK(f.svc->list_thread_messages(kAnon, ConversationKey::of_id(s.id, ConversationKind::kSupport), {})
            .error()
            .code == ErrorCode::kNotFound);
  MessageQuery bad;
  bad.limit = 0;
  CHECK(f.svc->list_thread_messages(kAnon, cap(s), bad).error().field == "limit");
  REQUIRE(f.svc->delete_message(kAnon, MessageKey::of_uuid(m.uuid)).ok());
  CHECK(f.svc->get_thread_message(kAnon, MessageKey::of_uuid(m.uuid)).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->list_thread_messages(kAnon, cap(s), {})->messages.items.size() == 1);
}
