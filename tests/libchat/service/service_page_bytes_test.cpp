// ServiceOptions::max_page_bytes (issue 9): every listing ends its page at the
// byte budget, keeps at least one item, and following the cursor or the
// offset returns every item exactly once, in order.
#include <set>

#include "service/service_fixture.hpp"

using namespace svc_test;

namespace {

constexpr std::size_t kBudget = 10'000;

ServiceOptions budget_options() {
  ServiceOptions o;
  o.max_page_bytes = kBudget;
  o.max_content_bytes = 64 * 1024;
  o.anonymous_listing = true;
  return o;
}

// Sizes that cut pages at varied places, one item above the whole budget.
std::size_t content_size(int i) { return i == 7 ? kBudget + 5'000 : static_cast<std::size_t>(500 + (i * 1'777) % 4'000); }

template <typename T, typename Size>
void check_within_budget(const std::vector<T>& items, Size size, std::size_t budget) {
  REQUIRE_FALSE(items.empty());
  std::size_t sum = 0;
  for (const auto& it : items) sum += size(it);
  if (items.size() > 1) CHECK(sum <= budget);
}

}  // namespace

TEST_CASE("page bytes: a cursor-paged message listing is cut by the budget and the cursor visits each once",
          "[service][page_bytes]") {
  Fixture f(budget_options());
  const Conversation c = f.create(kAlice);
  std::vector<std::int64_t> posted;
  for (int i = 0; i < 40; ++i) posted.push_back(f.post(kAlice, c, std::string(content_size(i), 'a' + i % 26)).id);

  std::vector<std::int64_t> seen;
  std::int64_t cursor = 0;
  int pages = 0;
  bool any_cut = false;
  for (;;) {
    MessageQuery q;
    q.limit = 20;
    q.after_id = cursor;
    auto page = f.svc->list_messages(kAlice, key(c), q);
    REQUIRE(page.ok());
    if (page->items.empty()) break;
    ++pages;
    REQUIRE(pages < 100);
    check_within_budget(page->items, [](const Message& m) { return stored_bytes(m); }, kBudget);
    if (page->items.size() < 20 && page->has_more) any_cut = true;
    CHECK(page->has_more == (static_cast<std::int64_t>(page->items.size()) < page->total));
    for (const auto& m : page->items) seen.push_back(m.id);
    cursor = page->items.back().id;
  }
  CHECK(any_cut);
  CHECK(seen == posted);

  SECTION("an item larger than the budget is a page of its own") {
    MessageQuery q;
    q.limit = 20;
    q.after_id = posted[6];
    auto page = f.svc->list_messages(kAlice, key(c), q);
    REQUIRE(page.ok());
    REQUIRE(page->items.size() == 1);
    CHECK(page->items[0].id == posted[7]);
    CHECK(page->has_more);
  }
  SECTION("wait_for_messages answers a shorter batch; polling after the last id gets the rest") {
    std::vector<std::int64_t> polled;
    std::int64_t since = 0;
    for (int round = 0; round < 100; ++round) {
      auto batch = f.svc->wait_for_messages(kAlice, key(c), since, std::chrono::milliseconds(0));
      REQUIRE(batch.ok());
      if (batch->empty()) break;
      check_within_budget(*batch, [](const Message& m) { return stored_bytes(m); }, kBudget);
      for (const auto& m : *batch) polled.push_back(m.id);
      since = batch->back().id;
    }
    CHECK(polled == posted);
  }
}

TEST_CASE("page bytes: an offset-paged listing is cut by the budget and advancing by the items received visits each once",
          "[service][page_bytes]") {
  Fixture f(budget_options());
  std::vector<std::int64_t> created;
  for (int i = 0; i < 30; ++i) {
    NewConversation nc;
    nc.title = "c" + std::to_string(i);
    nc.initial_context = std::string(content_size(i), 'x');
    auto r = f.svc->create_conversation(kAlice, nc);
    REQUIRE(r.ok());
    created.push_back(r->id);
    f.clock->advance(std::chrono::seconds(1));
  }
  std::vector<std::int64_t> seen;
  std::int64_t offset = 0;
  bool any_cut = false;
  for (int pages = 0; pages < 100; ++pages) {
    ConversationQuery q;
    q.limit = 25;
    q.offset = offset;
    auto page = f.svc->list_conversations(kAlice, q);
    REQUIRE(page.ok());
    CHECK(page->total == 30);
    if (page->items.empty()) break;
    check_within_budget(page->items, [](const Conversation& c) { return stored_bytes(c); }, kBudget);
    if (page->items.size() < 25 && page->has_more) any_cut = true;
    CHECK(page->has_more == (offset + static_cast<std::int64_t>(page->items.size()) < page->total));
    for (const auto& c : page->items) seen.push_back(c.id);
    offset += static_cast<std::int64_t>(page->items.size());
  }
  CHECK(any_cut);
  std::vector<std::int64_t> newest_first(created.rbegin(), created.rend());
  CHECK(seen == newest_first);
}

TEST_CASE("page bytes: search pages by offset within the budget", "[service][page_bytes]") {
  Fixture f(budget_options());
  const Conversation c = f.create(kAlice);
  std::set<std::int64_t> posted;
  for (int i = 0; i < 20; ++i) posted.insert(f.post(kAlice, c, "needle " + std::string(content_size(i), 'q')).id);
  std::set<std::int64_t> seen;
  std::size_t received = 0;
  std::int64_t offset = 0;
  for (int pages = 0; pages < 100; ++pages) {
    SearchQuery q;
    q.text = "needle";
    q.limit = 20;
    q.offset = offset;
    auto page = f.svc->search_messages(kAlice, q);
    REQUIRE(page.ok());
    if (page->items.empty()) break;
    check_within_budget(page->items, [](const SearchHit& h) { return stored_bytes(h.message); }, kBudget);
    for (const auto& h : page->items) seen.insert(h.message.id);
    received += page->items.size();
    offset += static_cast<std::int64_t>(page->items.size());
  }
  CHECK(received == posted.size());
  CHECK(seen == posted);
}

TEST_CASE("page bytes: seed 001's thread counts the session repeated in each message", "[service][page_bytes]") {
  Fixture f(budget_options());
  NewConversation nc;
  nc.kind = ConversationKind::kSession;
  nc.metadata = "{\"k\":\"" + std::string(2'000, 'm') + "\"}";
  auto made = f.svc->create_conversation(kAnon, nc);
  REQUIRE(made.ok());
  const Conversation c = *made;
  for (int i = 0; i < 30; ++i) f.post(kAnon, c, std::string(100, 'z'));
  MessageQuery q;
  q.limit = 30;
  auto page = f.svc->list_thread_messages(kAnon, ConversationKey::of_uuid(c.uuid), q);
  REQUIRE(page.ok());
  const std::size_t per_item = stored_bytes(page->conversation);
  REQUIRE(per_item > 2'000);
  const std::size_t n = page->messages.items.size();
  CHECK(n >= 1);
  CHECK(n < 30);
  CHECK(n * (per_item + 100) <= kBudget);
  CHECK(page->messages.has_more);
}

TEST_CASE("page bytes: 0 turns the budget off", "[service][page_bytes]") {
  ServiceOptions o = budget_options();
  o.max_page_bytes = 0;
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  for (int i = 0; i < 10; ++i) f.post(kAlice, c, std::string(kBudget, 'b'));
  MessageQuery q;
  q.limit = 10;
  auto page = f.svc->list_messages(kAlice, key(c), q);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 10);
  CHECK(f.svc->limits().max_page_bytes == 0);
}
