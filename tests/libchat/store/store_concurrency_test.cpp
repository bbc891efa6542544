// Many threads on one store: writers append to several conversations while
// readers list and search. Nothing may be lost, ids must increase in the
// order appends were acknowledged, and counters must equal the real counts.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "chat/store.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::open_test_store;
using chat::testing::store_factories;
using chat::testing::TempDir;

namespace {
// prefix + number; spelled out because GCC 12 warns (-Wrestrict, a false
// positive) on "literal" + std::to_string(n).
std::string tag(const char* prefix, int n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}
}  // namespace

TEST_CASE("store: concurrent appends, listings and searches", "[store][concurrency]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  const Timestamp t0 = from_millis(1'700'000'000'000LL);

  constexpr int kConversations = 4;
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  std::vector<std::int64_t> convs;
  for (int i = 0; i < kConversations; ++i) {
    NewConversation nc;
    nc.user_id = tag("u", i % 2);
    auto c = store->create_conversation(nc, t0);
    REQUIRE(c.ok());
    convs.push_back(c->id);
  }

  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::mutex acked_mu;
  std::map<std::int64_t, std::set<std::int64_t>> acked;  // conversation -> ids

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::map<std::int64_t, std::int64_t> last_seen;
      std::int64_t last_any = 0;
      for (int i = 0; i < kPerWriter; ++i) {
        const auto conv = convs[static_cast<std::size_t>((w + i) % kConversations)];
        NewMessage m;
        m.role = i % 3 == 0 ? Role::kAssistant : Role::kUser;
        m.content = tag("writer ", w) + tag(" message ", i) + " pelican";
        m.client_id = tag("w", w) + tag("-", i);
        m.tokens_used = i % 7;
        auto r = store->append_message(conv, m, t0 + std::chrono::milliseconds(i));
        if (!r.ok() || !r->created) {
          ++failures;
          continue;
        }
        // A retry of the same post is idempotent even under contention.
        if (i % 25 == 0) {
          auto again = store->append_message(conv, m, t0);
          if (!again.ok() || again->created || again->message.id != r->message.id) ++failures;
        }
        const auto id = r->message.id;
        if (id <= last_any || id <= last_seen[conv]) ++failures;
        last_any = id;
        last_seen[conv] = id;
        std::lock_guard lk(acked_mu);
        acked[conv].insert(id);
      }
    });
  }
  for (int rd = 0; rd < 2; ++rd) {
    threads.emplace_back([&, rd] {
      int rounds = 0;
      while (writing.load() || rounds < 3) {
        ++rounds;
        for (auto conv : convs) {
          MessageQuery q;
          q.newest_first = true;
          q.limit = 50;
          auto p = store->list_messages(conv, q);
          if (!p.ok()) {
            ++failures;
            continue;
          }
          for (std::size_t i = 1; i < p->items.size(); ++i)
            if (p->items[i].id >= p->items[i - 1].id) ++failures;
          if (static_cast<std::int64_t>(p->items.size()) > p->total) ++failures;
        }
        SearchQuery sq;
        sq.text = "pelican";
        sq.user_id = tag("u", rd);
        auto s = store->search_messages(sq);
        if (!s.ok()) ++failures;
        ConversationQuery cq;
        cq.order = ConversationOrder::kRecentActivity;
        if (!store->list_conversations(cq).ok()) ++failures;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<std::size_t>(w)].join();
  writing = false;
  for (std::size_t i = kWriters; i < threads.size(); ++i) threads[i].join();

  CHECK(failures.load() == 0);
  std::size_t total = 0;
  for (auto conv : convs) {
    MessageQuery q;
    q.limit = 100000;
    auto p = store->list_messages(conv, q);
    REQUIRE(p.ok());
    std::set<std::int64_t> listed;
    std::int64_t prev = 0, unread = 0, tokens = 0;
    for (const auto& m : p->items) {
      CHECK(m.id > prev);
      prev = m.id;
      listed.insert(m.id);
      if (m.role != Role::kUser) ++unread;
      tokens += m.tokens_used.value_or(0);
    }
    CHECK(listed == acked[conv]);
    auto c = store->get_conversation(conv);
    REQUIRE(c.ok());
    CHECK(c->total_messages == static_cast<std::int64_t>(listed.size()));
    CHECK(c->unread_count == unread);
    CHECK(c->total_tokens == tokens);
    total += listed.size();
  }
  CHECK(total == static_cast<std::size_t>(kWriters * kPerWriter));
  SearchQuery sq;
  sq.text = "pelican";
  CHECK(store->search_messages(sq)->total == static_cast<std::int64_t>(total));
}

TEST_CASE("store: counters stay exact under concurrent deletes, restores and mark_read", "[store][concurrency]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  const Timestamp t0 = from_millis(1'700'000'000'000LL);
  std::vector<std::int64_t> convs;
  for (int i = 0; i < 3; ++i) convs.push_back(store->create_conversation(NewConversation{}, t0)->id);

  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::mutex acked_mu;
  std::map<std::int64_t, std::set<std::int64_t>> acked;
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i) {
        const auto conv = convs[static_cast<std::size_t>((w + i) % 3)];
        NewMessage m;
        m.role = (i + w) % 2 ? Role::kAssistant : Role::kUser;
        m.content = tag("m", i);
        m.client_id = tag("w", w) + tag("-", i);
        m.tokens_used = i % 5;
        auto r = store->append_message(conv, m, t0 + std::chrono::milliseconds(i));
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lk(acked_mu);
        acked[conv].insert(r->message.id);
      }
    });
  }
  // Deletes, restores and marks read what the writers just appended.
  threads.emplace_back([&] {
    int round = 0;
    while (writing.load()) {
      const auto conv = convs[static_cast<std::size_t>(round++ % 3)];
      MessageQuery q;
      q.newest_first = true;
      q.limit = 4;
      auto p = store->list_messages(conv, q);
      if (!p.ok()) {
        ++failures;
        continue;
      }
      if (p->items.size() < 4) continue;
      const AuditContext audit{"mutator", t0};
      if (!store->soft_delete_message(p->items[1].id, audit).ok()) ++failures;
      if (round % 2 == 0) {
        auto r = store->restore_message(p->items[1].id, audit);
        if (!r.ok()) ++failures;
      }
      if (round % 3 == 0) {
        auto r = store->mark_read(conv, p->items[2].id, t0);
        if (!r.ok()) ++failures;
      }
    }
  });
  threads[0].join();
  threads[1].join();
  writing = false;
  threads[2].join();
  CHECK(failures.load() == 0);

  for (auto conv : convs) {
    auto c = store->get_conversation(conv);
    REQUIRE(c.ok());
    MessageQuery all;
    all.limit = 100000;
    all.include_deleted = true;
    std::set<std::int64_t> every;
    auto everything = store->list_messages(conv, all);
    REQUIRE(everything.ok());
    for (const auto& m : everything->items) every.insert(m.id);
    CHECK(every == acked[conv]);  // nothing lost, nothing extra

    MessageQuery live;
    live.limit = 100000;
    std::int64_t total = 0, unread = 0, tokens = 0;
    std::optional<Timestamp> last;
    auto live_page = store->list_messages(conv, live);
    REQUIRE(live_page.ok());
    for (const auto& m : live_page->items) {
      ++total;
      tokens += m.tokens_used.value_or(0);
      if (m.role != Role::kUser && m.id > c->last_read_message_id) ++unread;
      last = m.created_at;
    }
    CHECK(c->total_messages == total);
    CHECK(c->unread_count == unread);
    CHECK(c->total_tokens == tokens);
    CHECK(c->last_message_at == last);
  }
}
