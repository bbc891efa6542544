// Issue 11: search ranks with chat_bm25 (bm25 with cached document
// frequencies) and finds in-scope matches through the scope tokens of the
// index (schema step 8). Checked against FTS5's own bm25() on a one-column
// table holding the same folded text, and against scope tokens posing as
// search words.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "chat/sqlite_store.hpp"
#include "chat/text.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::TempDir;

namespace {

constexpr std::int64_t kT0 = 1'719'655'200'000;

std::int64_t make_conv(Store& s, const std::string& user) {
  NewConversation c;
  c.user_id = user;
  auto r = s.create_conversation(c, from_millis(kT0));
  REQUIRE(r.ok());
  return r->id;
}

std::int64_t post(Store& s, std::int64_t conv, const std::string& text) {
  NewMessage m;
  m.content = text;
  auto r = s.append_message(conv, m, from_millis(kT0 + 1));
  REQUIRE(r.ok());
  return r->message.id;
}

}  // namespace

TEST_CASE("search ranks as FTS5's bm25 does over the same text", "[store][search][issue11][sqlite]") {
  TempDir dir;
  const std::string path = dir.file("chat.db");
  SqliteOptions o;
  o.path = path;
  auto opened = open_sqlite_store(o);
  REQUIRE(opened.ok());
  auto& s = **opened;
  const auto conv = make_conv(s, "u1");
  const auto other = make_conv(s, "u2");
  std::mt19937 rng(11);
  const std::vector<std::string> words{"alpha", "beta", "Gamma", "delta", "eps", "zeta", "eta", "theta"};
  std::vector<std::pair<std::int64_t, std::string>> rows;
  for (int i = 0; i < 300; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 14);
    for (int k = 0; k < n; ++k) {
      // Skewed: "alpha" common, later words rarer.
      const auto w = std::min<std::size_t>(words.size() - 1, (rng() % 64) == 0 ? 7 : rng() % (1 + rng() % 8));
      text += words[w] + " ";
    }
    const auto id = post(s, i % 5 == 0 ? other : conv, text);
    rows.emplace_back(id, text);
  }
  REQUIRE(s.flush_search_index().ok());

  // The reference: a one-column FTS5 table of the same folded text, ranked by bm25().
  SQLite::Database ref(":memory:", SQLite::OPEN_READWRITE);
  ref.exec("CREATE VIRTUAL TABLE t USING fts5(content, tokenize = 'unicode61 remove_diacritics 2')");
  {
    SQLite::Statement ins(ref, "INSERT INTO t (rowid, content) VALUES (?, ?)");
    for (const auto& [id, text] : rows) {
      ins.bind(1, id);
      ins.bind(2, fold_case(text));
      ins.exec();
      ins.reset();
    }
  }
  for (const std::string query : {"alpha", "theta", "alpha beta", "gamma delta eps", "BETA zeta"}) {  // NOLINT
    INFO("query: " << query);
    std::string match;
    for (std::size_t i = 0; i < query.size();) {
      const auto j = std::min(query.find(' ', i), query.size());
      match += (match.empty() ? "\"" : " \"") + fold_case(query.substr(i, j - i)) + "\"";
      i = j + 1;
    }
    SQLite::Statement q(ref, "SELECT rowid, -bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid DESC LIMIT 50");
    q.bind(1, match);
    std::vector<std::int64_t> want;
    std::vector<double> want_score;
    while (q.executeStep()) {
      want.push_back(q.getColumn(0).getInt64());
      want_score.push_back(q.getColumn(1).getDouble());
    }
    SearchQuery sq;
    sq.text = query;
    sq.limit = 50;
    auto got = s.search_messages(sq);
    REQUIRE(got.ok());
    REQUIRE(got->items.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      CHECK(got->items[i].message.id == want[i]);
      CHECK(got->items[i].score == Approx(want_score[i]).epsilon(1e-9));
    }
  }
}

TEST_CASE("search scope tokens are never matched by search words", "[store][search][issue11]") {
  for (const auto& factory : chat::testing::store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = chat::testing::open_test_store(factory, dir);
      const auto a = make_conv(*s, "ab");
      const auto b = make_conv(*s, "");
      post(*s, a, "hello there");
      post(*s, b, "hello again");
      // The scope tokens of a's messages: "c<a>", "u6162" (hex of "ab").
      for (const std::string& word :
           std::vector<std::string>{"c" + std::to_string(a), "u6162", "u", "ksupport", "scope", "content"}) {
        INFO(word);
        SearchQuery q;
        q.text = word;
        auto r = s->search_messages(q);
        REQUIRE(r.ok());
        CHECK(r->total == 0);
      }
      SearchQuery q;
      q.text = "hello";
      q.user_id = "ab";
      auto r = s->search_messages(q);
      REQUIRE(r.ok());
      REQUIRE(r->total == 1);
      CHECK(r->items[0].message.conversation_id == a);
      q.user_id = "";
      r = s->search_messages(q);
      REQUIRE(r.ok());
      REQUIRE(r->total == 1);
      CHECK(r->items[0].message.conversation_id == b);
      q.user_id.reset();
      q.conversation_id = b;
      r = s->search_messages(q);
      REQUIRE(r.ok());
      REQUIRE(r->total == 1);
      CHECK(r->items[0].message.conversation_id == b);
    }
  }
}

// Issue 11: search gathers the newest in-scope matches in id windows walked
// oldest-first (search_index.cpp, newest_matches). Whatever the density of
// matches (dense and old, sparse and new, none in scope), the ranked set is
// exactly the newest 1,000 live in-scope matches and `total` counts them.
TEST_CASE("search ranks exactly the newest in-scope matches whatever their density", "[store][search][issue11]") {
  auto factory = GENERATE(from_range(chat::testing::store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = chat::testing::open_test_store(factory, dir);
  auto& s = *store;
  const auto a = make_conv(s, "u1");
  const auto b = make_conv(s, "u2");
  const auto quiet = make_conv(s, "u3");
  struct Row {
    std::int64_t id;
    std::int64_t conv;
    bool common;
  };
  std::vector<Row> rows;
  auto add = [&](std::int64_t conv, bool common, int i) {
    const std::string text = common ? "common word " + std::to_string(i % 7) : "filler text " + std::to_string(i);
    rows.push_back(Row{post(s, conv, text), conv, common});
  };
  for (int i = 0; i < 2500; ++i) add(a, true, i);             // old and dense
  for (int i = 0; i < 3000; ++i) add(b, i % 40 == 0, i);      // sparse
  for (int i = 0; i < 600; ++i) add(quiet, false, i);         // no match at all
  for (int i = 0; i < 700; ++i) add(a, i % 3 == 0, i);        // new, medium
  // Soft-deleted matches never count.
  std::set<std::int64_t> deleted;
  for (std::size_t i = rows.size() - 1; deleted.size() < 20; i -= 9)
    if (rows[i].common) {
      REQUIRE(s.soft_delete_message(rows[i].id, AuditContext{"test", from_millis(kT0 + 2)}).ok());
      deleted.insert(rows[i].id);
    }

  auto check = [&](std::optional<std::int64_t> conv, std::optional<std::string> user) {
    std::vector<std::int64_t> expected;  // newest first
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (!it->common || deleted.count(it->id)) continue;
      if (conv && it->conv != *conv) continue;
      if (user && (*user == "u1") != (it->conv == a)) continue;
      if (user && *user == "u3") continue;
      expected.push_back(it->id);
    }
    if (expected.size() > 1000) expected.resize(1000);
    SearchQuery q;
    q.text = "common";
    q.conversation_id = conv;
    q.user_id = user;
    q.limit = 100;
    std::set<std::int64_t> seen;
    double last_score = 1e300;
    std::int64_t last_id = 0;
    for (q.offset = 0;; q.offset += 100) {
      auto page = s.search_messages(q);
      REQUIRE(page.ok());
      CHECK(page->total == static_cast<std::int64_t>(expected.size()));
      for (const auto& hit : page->items) {
        // Ranked: score descending, then newest first.
        CHECK((hit.score < last_score || (hit.score == last_score && hit.message.id < last_id)));
        last_score = hit.score;
        last_id = hit.message.id;
        CHECK(seen.insert(hit.message.id).second);
      }
      if (!page->has_more) break;
    }
    CHECK(seen == std::set<std::int64_t>(expected.begin(), expected.end()));
  };
  // One data set for every scope (building it is most of the test's time).
  check(std::nullopt, std::nullopt);           // every owner
  check(std::nullopt, std::string("u1"));      // the owner whose matches are old and dense
  check(b, std::nullopt);                      // the sparse conversation
  check(std::nullopt, std::string("u3"));      // an owner without matches
  check(quiet, std::nullopt);                  // a conversation without matches
}
