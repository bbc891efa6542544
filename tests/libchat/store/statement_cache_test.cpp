// The per-connection cache of SQL built at run time: bounded, yet it never
// drops a statement somebody still steps (the analytics read holds several at
// once), and never hands one statement to two users.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"

using chat::sqlite::Conn;
using chat::sqlite::kMaxCachedStatements;
using chat::sqlite::Stmt;

namespace {

// Stmt neither copies nor moves; this holds one on the heap.
struct Held {
  Held(Conn& c, const std::string& sql) : stmt(c.prepare(sql)) {}
  Stmt stmt;
};

// "SELECT x + k FROM t ORDER BY x": a distinct text for every k.
std::string query(int k) {
  std::string sql = "SELECT x + ";
  sql += std::to_string(k);
  sql += " FROM t ORDER BY x";
  return sql;
}

std::unique_ptr<Conn> table_with_rows(std::size_t capacity) {
  auto c = std::make_unique<Conn>(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 1000, capacity);
  c->db().exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)");
  return c;
}

// Runs `count` distinct texts from `first` on, each released at once.
void churn(Conn& c, int first, int count) {
  for (int k = first; k < first + count; ++k) {
    auto s = c.prepare(query(k));
    REQUIRE(s->executeStep());
    REQUIRE(s->getColumn(0).getInt64() == 1 + k);
  }
}

}  // namespace

TEST_CASE("statement cache: statements in use survive more distinct texts than the cap", "[store][statements][sqlite]") {
  constexpr std::size_t kCap = 4;
  auto c = table_with_rows(kCap);

  // More statements held mid-iteration than the cache may keep.
  constexpr int kHeld = 6;
  std::vector<std::unique_ptr<Held>> held;
  for (int k = 0; k < kHeld; ++k) {
    held.push_back(std::make_unique<Held>(*c, query(k)));
    REQUIRE(held.back()->stmt->executeStep());
    CHECK(held.back()->stmt->getColumn(0).getInt64() == 1 + k);
  }
  CHECK(c->cached_dynamic() == kHeld);  // grown past the cap: nothing idle to evict

  // Far more distinct texts than the cap while those are held.
  churn(*c, 100, 50);
  CHECK(c->cached_dynamic() <= kHeld + 1);

  // Every held statement is still the one it was, where it was.
  for (int k = 0; k < kHeld; ++k) {
    auto& s = held[static_cast<std::size_t>(k)]->stmt;
    REQUIRE(s->executeStep());
    CHECK(s->getColumn(0).getInt64() == 2 + k);
    REQUIRE(s->executeStep());
    CHECK(s->getColumn(0).getInt64() == 3 + k);
    CHECK_FALSE(s->executeStep());
  }

  // Released, they become evictable: the cache shrinks back to its cap.
  held.clear();
  churn(*c, 200, 10);
  CHECK(c->cached_dynamic() == kCap);
}

TEST_CASE("statement cache: the default cap holds under analytics-like use", "[store][statements][sqlite]") {
  auto c = table_with_rows(kMaxCachedStatements);
  // Three statements held at once, as activity_totals does.
  Held a(*c, query(0));
  Held b(*c, query(1));
  REQUIRE(a.stmt->executeStep());
  REQUIRE(b.stmt->executeStep());
  churn(*c, 10, static_cast<int>(kMaxCachedStatements) + 20);
  CHECK(c->cached_dynamic() <= kMaxCachedStatements);
  Held d(*c, query(2));
  REQUIRE(d.stmt->executeStep());
  CHECK(d.stmt->getColumn(0).getInt64() == 3);
  REQUIRE(a.stmt->executeStep());
  CHECK(a.stmt->getColumn(0).getInt64() == 2);
  REQUIRE(b.stmt->executeStep());
  CHECK(b.stmt->getColumn(0).getInt64() == 3);
}

TEST_CASE("statement cache: one text used twice at once gets two statements", "[store][statements][sqlite]") {
  auto c = table_with_rows(kMaxCachedStatements);
  Held outer(*c, query(0));
  REQUIRE(outer.stmt->executeStep());
  CHECK(outer.stmt->getColumn(0).getInt64() == 1);
  {
    Held inner(*c, query(0));
    REQUIRE(inner.stmt->executeStep());
    CHECK(inner.stmt->getColumn(0).getInt64() == 1);
  }
  // The inner user's reset did not rewind the outer one.
  REQUIRE(outer.stmt->executeStep());
  CHECK(outer.stmt->getColumn(0).getInt64() == 2);
  // Still cached once, and reused when idle.
  CHECK(c->cached_dynamic() == 1);
}
