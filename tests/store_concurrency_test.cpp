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
#include "store_fixture.hpp"

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
