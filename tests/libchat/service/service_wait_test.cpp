// wait_for_messages: the long-poll behind seed 002's `since` polling.
#include <latch>
#include <thread>

#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

TEST_CASE("service: wait_for_messages returns at once when messages exist", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  const Message m1 = f.post(kAlice, c, "one");
  const Message m2 = f.post(kAlice, c, "two");
  const auto t0 = SteadyClock::now();
  auto got = f.svc->wait_for_messages(kAlice, key(c), m1.id, 10s);
  REQUIRE(got.ok());
  CHECK(SteadyClock::now() - t0 < 2s);
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].id == m2.id);
  auto all = f.svc->wait_for_messages(kAlice, key(c), 0, 10s);
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
}

TEST_CASE("service: wait_for_messages wakes promptly on a post from another thread", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAnon, ConversationKind::kSupport);
  const Message first = f.post(kAnon, c, "hello?");
  // Catch assertions are not thread-safe: threads record, the test thread checks.
  // The post comes once the waiter has started; whether it is parked yet or
  // not, the wait must answer with the new message (no lost wakeup).
  std::atomic<bool> posted{false};
  std::latch waiting(1);
  std::thread poster([&] {
    waiting.wait();
    NewMessage m;
    m.role = Role::kAgent;
    m.content = "hi, how can I help?";
    posted = f.svc->post_message(kAgent, key(c), m).ok();
  });
  const auto t0 = SteadyClock::now();
  waiting.count_down();
  auto got = f.svc->wait_for_messages(kAnon, ConversationKey::of_uuid(c.uuid), first.id, 20s);
  const auto waited = SteadyClock::now() - t0;
  poster.join();
  CHECK(posted.load());
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].content == "hi, how can I help?");
  CHECK(waited < 5s);
}

TEST_CASE("service: wait_for_messages times out empty and caps the timeout", "[service]") {
  ServiceOptions o;
  o.max_wait = 200ms;
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  const Message m = f.post(kAlice, c, "only");

  auto t0 = SteadyClock::now();
  auto short_wait = f.svc->wait_for_messages(kAlice, key(c), m.id, 50ms);
  REQUIRE(short_wait.ok());
  CHECK(short_wait->empty());
  CHECK(SteadyClock::now() - t0 >= 50ms);

  t0 = SteadyClock::now();
  auto capped = f.svc->wait_for_messages(kAlice, key(c), m.id, 60s);
  REQUIRE(capped.ok());
  CHECK(capped->empty());
  const auto waited = SteadyClock::now() - t0;
  CHECK(waited >= 200ms);
  CHECK(waited < 5s);

  auto zero = f.svc->wait_for_messages(kAlice, key(c), m.id, 0ms);
  REQUIRE(zero.ok());
  CHECK(zero->empty());
}

TEST_CASE("service: a change that is not a new message does not end the wait", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  const Message m = f.post(kAlice, c, "only");
  std::atomic<bool> touched{false};
  std::latch waiting(1);
  std::thread toucher([&] {
    waiting.wait();
    ConversationPatch p;
    p.title = "renamed";
    touched = f.svc->update_conversation(kAlice, key(c), p).ok();
  });
  const auto t0 = SteadyClock::now();
  waiting.count_down();
  auto got = f.svc->wait_for_messages(kAlice, key(c), m.id, 300ms);
  toucher.join();
  CHECK(touched.load());
  REQUIRE(got.ok());
  CHECK(got->empty());
  CHECK(SteadyClock::now() - t0 >= 300ms);
}

TEST_CASE("service: a conversation deleted during a wait ends it with not found", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  std::atomic<bool> deleted{false};
  std::latch waiting(1);
  std::thread deleter([&] {
    waiting.wait();
    deleted = f.svc->delete_conversation(kAlice, key(c)).ok();
  });
  const auto t0 = SteadyClock::now();
  waiting.count_down();
  auto got = f.svc->wait_for_messages(kAlice, key(c), 0, 10s);
  deleter.join();
  CHECK(deleted.load());
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == ErrorCode::kNotFound);
  CHECK(SteadyClock::now() - t0 < 5s);
}

TEST_CASE("service: many concurrent waiters wake only for their own conversation", "[service]") {
  Fixture f;
  constexpr int kWaiters = 40;
  std::vector<Conversation> convs;
  for (int i = 0; i < kWaiters; ++i) convs.push_back(f.create(kAnon, ConversationKind::kSession));
  std::vector<int> got(kWaiters, -1);
  std::vector<SteadyClock::duration> waited(kWaiters);
  std::vector<std::thread> threads;
  std::latch started(kWaiters);
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      const auto idx = static_cast<std::size_t>(i);
      const auto t0 = SteadyClock::now();
      started.count_down();
      // Even-numbered conversations get a post; odd ones must time out.
      auto r = f.svc->wait_for_messages(kAnon, ConversationKey::of_uuid(convs[idx].uuid), 0, i % 2 == 0 ? 20s : 600ms);
      waited[idx] = SteadyClock::now() - t0;
      got[idx] = r.ok() ? static_cast<int>(r->size()) : -2;
    });
  }
  started.wait();
  for (int i = 0; i < kWaiters; i += 2) f.post(kAnon, convs[static_cast<std::size_t>(i)], "for you");
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWaiters; ++i) {
    INFO("waiter " << i);
    const auto idx = static_cast<std::size_t>(i);
    if (i % 2 == 0) {
      CHECK(got[idx] == 1);
      CHECK(waited[idx] < 10s);
    } else {
      CHECK(got[idx] == 0);
      CHECK(waited[idx] >= 600ms);
    }
  }
}

TEST_CASE("service: concurrent posters, readers and waiters on one service", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAnon, ConversationKind::kSupport);
  constexpr int kPosters = 4;
  constexpr int kPerPoster = 25;
  std::atomic<bool> done{false};
  std::atomic<int> seen_total{0};
  std::atomic<int> out_of_order{0};
  std::atomic<int> failed_posts{0};
  std::thread follower([&] {
    std::int64_t after = 0;
    while (seen_total.load() < kPosters * kPerPoster) {
      auto r = f.svc->wait_for_messages(kAnon, cap(c), after, 5s);
      if (!r.ok()) break;
      if (r->empty()) continue;
      for (const auto& m : *r) {
        if (m.id <= after) ++out_of_order;
        after = m.id;
      }
      seen_total += static_cast<int>(r->size());
    }
    done = true;
  });
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&, p] {
      for (int i = 0; i < kPerPoster; ++i) {
        NewMessage m;
        m.content = std::to_string(p * 1000 + i);
        m.client_id = m.content;
        if (!f.svc->post_message(kAnon, cap(c), m).ok()) ++failed_posts;
      }
    });
  }
  for (auto& t : posters) t.join();
  follower.join();
  CHECK(done.load());
  CHECK(out_of_order.load() == 0);
  CHECK(failed_posts.load() == 0);
  CHECK(seen_total.load() == kPosters * kPerPoster);
  CHECK(f.svc->get_conversation(kAnon, cap(c))->total_messages == kPosters * kPerPoster);
}
