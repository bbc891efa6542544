// Issue 11: search ranks with chat_bm25 (bm25 with cached document
// frequencies) and finds in-scope matches through the scope tokens of the
// index (schema step 8). Checked against FTS5's own bm25() on a one-column
// table holding the same folded text, and against scope tokens posing as
// search words.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cmath>
#include <random>
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
