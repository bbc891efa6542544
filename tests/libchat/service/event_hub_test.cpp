#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include "service/event_hub.hpp"

using chat::detail::EventHub;
using chat::detail::HubEvent;
using namespace std::chrono_literals;

namespace {

EventHub::Deadline in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

}  // namespace

TEST_CASE("event hub: publish changes the version of its conversation only", "[events]") {
  EventHub hub;
  auto a = hub.watch(1);
  auto b = hub.watch(2);
  const auto va = a.version();
  const auto vb = b.version();
  hub.publish(1);
  CHECK(a.version() != va);
  CHECK(b.version() == vb);
  CHECK(a.wait_for_change(va, in(0ms)));
  CHECK_FALSE(b.wait_for_change(vb, in(10ms)));
}

TEST_CASE("event hub: a publish between version() and wait is not lost, even without a watch", "[events]") {
  EventHub hub;
  const auto seen = hub.version(7);  // no slot exists
  hub.publish(7);                    // nobody is waiting yet
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(hub.wait_for_change(7, seen, in(2000ms)));
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
  CHECK(hub.slot_count() == 0);
}

TEST_CASE("event hub: wait times out without a publish and wakes promptly with one", "[events]") {
  EventHub hub;
  auto w = hub.watch(3);
  const auto seen = w.version();
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(w.wait_for_change(seen, in(50ms)));
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);

  // The version was read before: a publish before or during the wait is seen either way.
  std::latch waiting(1);
  std::thread publisher([&] {
    waiting.wait();
    hub.publish(3);
  });
  const auto t1 = std::chrono::steady_clock::now();
  waiting.count_down();
  CHECK(w.wait_for_change(seen, in(5000ms)));
  CHECK(std::chrono::steady_clock::now() - t1 < 2000ms);
  publisher.join();
}

TEST_CASE("event hub: many waiters on different conversations wake only for their own", "[events]") {
  EventHub hub;
  constexpr int kConversations = 500;
  std::vector<EventHub::Watch> watches;
  std::vector<std::uint64_t> seen;
  for (int i = 0; i < kConversations; ++i) {
    watches.push_back(hub.watch(i + 1));
    seen.push_back(watches.back().version());
  }
  std::atomic<int> woke{0};
  std::vector<int> result(kConversations, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kConversations; ++i) {
    threads.emplace_back([&, i] {
      // Conversation 1 is published; all others time out.
      const bool changed = watches[static_cast<std::size_t>(i)].wait_for_change(
          seen[static_cast<std::size_t>(i)], in(i == 0 ? 5000ms : 300ms));
      result[static_cast<std::size_t>(i)] = changed ? 1 : 0;
      if (changed) ++woke;
    });
  }
  // Every version was read before the threads started: the publish needs no
  // waiter to be parked yet to be seen.
  hub.publish(1);
  for (auto& t : threads) t.join();
  CHECK(woke.load() == 1);
  CHECK(result[0] == 1);
  for (int i = 1; i < kConversations; ++i) CHECK(result[static_cast<std::size_t>(i)] == 0);
}

TEST_CASE("event hub: slots do not accumulate", "[events]") {
  EventHub hub;
  for (int i = 0; i < 1000; ++i) {
    auto w = hub.watch(i);
    hub.publish(i);
    CHECK_FALSE(hub.wait_for_change(i + 5000, hub.version(i + 5000), in(0ms)));
  }
  for (int i = 0; i < 100; ++i) hub.publish(i);
  CHECK(hub.slot_count() == 0);
  {
    auto s = hub.subscribe(1, [](const HubEvent&) {});
    auto w1 = hub.watch(1);
    auto w2 = hub.watch(2);
    CHECK(hub.slot_count() == 2);
    EventHub::Watch moved = std::move(w2);
    CHECK(hub.slot_count() == 2);
  }
  CHECK(hub.slot_count() == 0);
}

TEST_CASE("event hub: subscribers get their conversation's events until unsubscribed", "[events]") {
  EventHub hub;
  std::vector<HubEvent> got;
  std::vector<std::string> kinds;
  auto sub = hub.subscribe(5, [&](const HubEvent& e) {
    got.push_back(e);
    kinds.emplace_back(e.kind);
  });
  hub.publish(5, "message.created", 42);
  hub.publish(6, "message.created", 43);
  REQUIRE(got.size() == 1);
  CHECK(got[0].conversation_id == 5);
  CHECK(got[0].message_id == 42);
  CHECK(kinds[0] == "message.created");
  CHECK(got[0].version == hub.version(5));
  sub.reset();
  hub.publish(5);
  CHECK(got.size() == 1);
  CHECK_FALSE(sub.active());
}

TEST_CASE("event hub: a callback may publish and drop its own subscription", "[events]") {
  EventHub hub;
  int calls = 0;
  EventHub::Subscription sub;
  sub = hub.subscribe(9, [&](const HubEvent&) {
    ++calls;
    if (calls == 1) hub.publish(9, "again");  // re-entrant publish on the same conversation
    if (calls == 2) sub.reset();              // drops itself from inside the call
  });
  hub.publish(9);
  CHECK(calls == 2);
  hub.publish(9);
  CHECK(calls == 2);
  CHECK(hub.slot_count() == 0);
}

TEST_CASE("event hub: after unsubscribe returns the callback never runs again", "[events]") {
  EventHub hub;
  std::atomic<bool> stop{false};
  std::atomic<int> after{0};
  std::atomic<bool> unsubscribed{false};
  std::atomic<int> calls{0};
  std::atomic<int> publishes{0};
  auto sub = hub.subscribe(11, [&](const HubEvent&) {
    if (unsubscribed.load()) ++after;
    if (calls.fetch_add(1) == 0) calls.notify_all();
  });
  std::thread publisher([&] {
    while (!stop.load()) {
      hub.publish(11);
      publishes.fetch_add(1);
      publishes.notify_all();
    }
  });
  calls.wait(0);  // the callback is running on the publisher's thread
  sub.reset();
  unsubscribed.store(true);
  // Many publishes after reset() returned must not reach the callback.
  const int target = publishes.load() + 1000;
  for (int seen = publishes.load(); seen < target; seen = publishes.load()) publishes.wait(seen);
  stop.store(true);
  publisher.join();
  CHECK(after.load() == 0);
}

TEST_CASE("event hub: shutdown wakes every waiter", "[events]") {
  EventHub hub;
  std::vector<std::thread> threads;
  std::atomic<int> returned{0};
  std::latch watching(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto w = hub.watch(i % 4);
      const auto seen = w.version();
      watching.count_down();
      // Parked or not yet: after shutdown() a wait returns at once either way.
      (void)w.wait_for_change(seen, in(30000ms));
      ++returned;
    });
  }
  watching.wait();
  const auto t0 = std::chrono::steady_clock::now();
  hub.shutdown();
  for (auto& t : threads) t.join();
  CHECK(returned.load() == 20);
  CHECK(std::chrono::steady_clock::now() - t0 < 5000ms);
  CHECK_FALSE(hub.wait_for_change(1, hub.version(1), in(10000ms)));
}

TEST_CASE("event hub: concurrent publishers and waiters never lose a wakeup", "[events]") {
  // Each round: a waiter reads the version, then a publisher publishes; the
  // waiter must see the change (no reliance on timing: the deadline is long).
  EventHub hub;
  constexpr int kRounds = 300;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::int64_t id = t * 100000 + r;
        const auto seen = hub.version(id);
        std::thread p([&hub, id] { hub.publish(id); });
        if (hub.wait_for_change(id, seen, in(10000ms))) ++ok;
        p.join();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 4 * kRounds);
  CHECK(hub.slot_count() == 0);
}
