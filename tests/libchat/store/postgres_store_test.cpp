// What is particular to the PostgreSQL store (chat/postgres_store.hpp), on a
// server named by CHAT_TEST_PG_URL (skipped without it; the contract suite
// runs the shared behaviour through store_factories()): migrations when
// several processes open a fresh database at once, refused schemas, the
// factory's errors, message ids as cursors under concurrent appends through
// two Store objects, a client_id race across stores, change notices across
// stores, and lost connections. Timing bounds are generous (a busy machine).
#include <catch2/catch.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chat/postgres_store.hpp"
#include "chat/store.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::pg_conninfo_for;
using chat::testing::TempDir;
using chat::testing::test_pg_url;

namespace {

const Timestamp kT0 = from_millis(1'700'000'000'000LL);

std::string tag(const char* prefix, std::int64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

// The first column of the first row of `sql` on the test database `db` ("" when no row).
std::string query_on(const std::string& db, const std::string& sql) {
  PGconn* c = PQconnectdb(pg_conninfo_for(db).c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  const bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
  std::string out = ok && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  std::string err = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  INFO(err);
  REQUIRE(ok);
  return out;
}

std::unique_ptr<Store> open_on(const std::string& db, int connections = 4) {
  PostgresOptions o;
  o.conninfo = pg_conninfo_for(db);
  o.connections = connections;
  auto r = open_postgres_store(o);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

NewMessage text_message(const std::string& content, const std::string& client_id = "") {
  NewMessage m;
  m.role = Role::kUser;
  m.content = content;
  m.client_id = client_id;
  return m;
}

// Collects notices; waits for one that matches.
class Notices {
 public:
  ChangeListener listener() {
    return [this](const ExternalChange& c) {
      std::lock_guard lk(mu_);
      seen_.push_back(c);
      cv_.notify_all();
    };
  }
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::seconds bound = std::chrono::seconds(20)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, bound, [&] {
      for (const auto& c : seen_)
        if (pred(c)) return true;
      return false;
    });
  }
  std::vector<ExternalChange> seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ExternalChange> seen_;
};

// Skipped with a WARN by hand; a failure in a postgres run (the "pg: " tests).
#define CHAT_REQUIRE_PG()                                     \
  if (test_pg_url() == nullptr) {                             \
    if (chat::testing::postgres_run()) FAIL(chat::testing::kNoPgServer); \
    WARN("CHAT_TEST_PG_URL is not set: PostgreSQL skipped");  \
    return;                                                   \
  }

}  // namespace

TEST_CASE("postgres store: the factory's errors", "[store][postgres]") {
  PostgresOptions o;
  auto empty = open_postgres_store(o);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == ErrorCode::kInvalidArgument);
  CHECK(empty.error().field == "conninfo");

  o.conninfo = "postgresql://[::1";
  auto bad = open_postgres_store(o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  CHECK(bad.error().field == "conninfo");

  // Nobody listens on port 1; the password must not come back in the message.
  o.conninfo = "host=127.0.0.1 port=1 user=chat password=s3cret-pw dbname=chat";
  o.connect_timeout = std::chrono::milliseconds(2000);
  auto down = open_postgres_store(o);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code == ErrorCode::kUnavailable);
  CHECK(down.error().message.find("s3cret-pw") == std::string::npos);
}

TEST_CASE("postgres store: two stores opening a fresh database at once migrate it once", "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir dir;
  const std::string db = dir.pg_database();
  std::vector<Result<std::unique_ptr<Store>>> opened;
  opened.reserve(4);
  for (int i = 0; i < 4; ++i) opened.emplace_back(Error::internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      PostgresOptions o;
      o.conninfo = pg_conninfo_for(db);
      o.connections = 2;
      opened[static_cast<std::size_t>(i)] = open_postgres_store(o);
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : opened) {
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
  }
  CHECK(query_on(db, "SELECT COUNT(*) FROM chat_schema_version") == "1");
  CHECK(query_on(db, "SELECT version FROM chat_schema_version") == "1");
  // Both work on the one schema.
  auto c = (*opened[0])->create_conversation(NewConversation{}, kT0);
  REQUIRE(c.ok());
  CHECK((*opened[1])->get_conversation(c->id).ok());
}

TEST_CASE("postgres store: a newer schema or a foreign database is refused", "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir newer;
  { auto s = open_on(newer.pg_database()); }
  query_on(newer.pg_database(), "UPDATE chat_schema_version SET version = 999");
  PostgresOptions o;
  o.conninfo = pg_conninfo_for(newer.pg_database());
  auto r = open_postgres_store(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInternal);
  CHECK(r.error().message.find("newer") != std::string::npos);

  TempDir foreign;
  query_on(foreign.pg_database(), "CREATE TABLE conversations (id integer)");
  o.conninfo = pg_conninfo_for(foreign.pg_database());
  auto f = open_postgres_store(o);
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().code == ErrorCode::kInternal);
}

// database.hpp, "Cursors": a poller reading id > since must see every
// message exactly once and in order, while appends commit out of id order
// across connections and stores.
TEST_CASE("postgres store: message ids are cursors under concurrent appends through two stores",
          "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir dir;
  auto a = open_on(dir.pg_database(), 6);
  auto b = open_on(dir.pg_database(), 6);
  auto conv = a->create_conversation(NewConversation{}, kT0);
  REQUIRE(conv.ok());
  auto other = b->create_conversation(NewConversation{}, kT0);
  REQUIRE(other.ok());

  constexpr int kWriters = 6;
  constexpr int kPerWriter = 60;
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Store& s = w % 2 == 0 ? *a : *b;
      for (int i = 0; i < kPerWriter; ++i) {
        // Appends to another conversation draw ids in between.
        if (i % 3 == 0 && !s.append_message(other->id, text_message("noise"), kT0).ok()) ++failures;
        if (!s.append_message(conv->id, text_message(tag("m", w * 1000 + i)), kT0).ok()) ++failures;
      }
      --writers_left;
    });
  }
  std::vector<std::int64_t> seen;
  std::int64_t since = 0;
  bool out_of_order = false;
  // The change log's cursor too: list_events after the last event id read.
  std::vector<std::int64_t> seen_events;
  std::int64_t after_event = 0;
  bool events_out_of_order = false;
  auto poll_events = [&] {
    for (;;) {
      auto page = b->list_events(conv->id, after_event, 1000);
      REQUIRE(page.ok());
      REQUIRE_FALSE(page->reset);
      for (const auto& e : page->events) {
        if (e.id <= after_event) events_out_of_order = true;
        seen_events.push_back(e.id);
        after_event = e.id;
      }
      if (!page->has_more) break;
    }
  };
  auto poll_once = [&] {
    MessageQuery q;
    q.after_id = since;
    q.limit = 1000;
    auto page = a->list_messages(conv->id, q);
    REQUIRE(page.ok());
    for (const auto& m : page->items) {
      if (m.id <= since) out_of_order = true;
      seen.push_back(m.id);
      since = m.id;
    }
  };
  while (writers_left.load() > 0) {
    poll_once();
    poll_events();
  }
  for (auto& t : threads) t.join();
  poll_once();
  poll_events();
  CHECK_FALSE(events_out_of_order);
  // conversation.created, then one message.created per append, none twice.
  CHECK(seen_events.size() == static_cast<std::size_t>(kWriters * kPerWriter + 1));
  CHECK(std::set<std::int64_t>(seen_events.begin(), seen_events.end()).size() == seen_events.size());
  CHECK(failures.load() == 0);
  CHECK_FALSE(out_of_order);
  REQUIRE(seen.size() == static_cast<std::size_t>(kWriters * kPerWriter));
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == seen.size());
  // Every message the store holds was seen (none skipped), in id order.
  MessageQuery all;
  all.limit = 100000;
  auto everything = b->list_messages(conv->id, all);
  REQUIRE(everything.ok());
  std::vector<std::int64_t> ids;
  for (const auto& m : everything->items) ids.push_back(m.id);
  CHECK(ids == seen);
  CHECK(everything->total == kWriters * kPerWriter);
  auto counted = b->get_conversation(conv->id);
  REQUIRE(counted.ok());
  CHECK(counted->total_messages == kWriters * kPerWriter);
  // The store-wide head covers every committed id.
  auto head = a->last_message_id();
  REQUIRE(head.ok());
  CHECK(*head >= seen.back());
}

TEST_CASE("postgres store: one client_id raced through two stores creates one message", "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir dir;
  auto a = open_on(dir.pg_database());
  auto b = open_on(dir.pg_database());
  auto conv = a->create_conversation(NewConversation{}, kT0);
  REQUIRE(conv.ok());
  std::atomic<int> created{0};
  std::atomic<int> replayed{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Store& s = i % 2 == 0 ? *a : *b;
      auto r = s.append_message(conv->id, text_message("once", "cid-1"), kT0);
      if (!r.ok()) {
        ++failed;
      } else if (r->created) {
        ++created;
      } else {
        ++replayed;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed.load() == 0);
  CHECK(created.load() == 1);
  CHECK(replayed.load() == 7);
  auto c = a->get_conversation(conv->id);
  REQUIRE(c.ok());
  CHECK(c->total_messages == 1);
}

TEST_CASE("postgres store: changes and ephemeral notices reach the other stores' listeners", "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir dir;
  auto a = open_on(dir.pg_database());
  auto b = open_on(dir.pg_database());
  Notices got;
  a->set_change_listener(got.listener());
  auto mine = a->create_conversation(NewConversation{}, kT0);
  auto theirs = b->create_conversation(NewConversation{}, kT0);
  REQUIRE(mine.ok());
  REQUIRE(theirs.ok());
  // The listener's LISTEN may come after the creates: wait until a change
  // through B is seen, then check the rest.
  const std::int64_t t = theirs->id;
  bool arrived = false;
  for (int i = 0; i < 40 && !arrived; ++i) {
    REQUIRE(b->append_message(t, text_message(tag("hello ", i)), kT0).ok());
    arrived = got.wait_for([&](const ExternalChange& c) { return c.conversation_id == t && c.ephemeral.empty(); },
                           std::chrono::seconds(1));
  }
  REQUIRE(arrived);
  // A's own change is not reported: notices come in commit order, so once
  // B's later change is in, A's would be too.
  REQUIRE(a->append_message(mine->id, text_message("mine"), kT0).ok());
  REQUIRE(b->append_message(t, text_message("after"), kT0).ok());
  REQUIRE(b->publish_ephemeral(t, "typing").ok());
  REQUIRE(got.wait_for([&](const ExternalChange& c) { return c.conversation_id == t && c.ephemeral == "typing"; }));
  for (const auto& c : got.seen()) CHECK(c.conversation_id != mine->id);
  // A's own ephemeral notices are not reported either.
  REQUIRE(a->publish_ephemeral(mine->id, "mine typing").ok());
  CHECK(b->publish_ephemeral(t, std::string(kMaxEphemeralPayloadBytes + 1, 'x')).error().code ==
        ErrorCode::kInvalidArgument);

  // A killed listener connection: reconnected, then one "anything may have changed".
  query_on(dir.pg_database(),
           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
           "AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
  REQUIRE(got.wait_for([](const ExternalChange& c) { return c.conversation_id == 0; }, std::chrono::seconds(30)));
  // And it listens again.
  bool again = false;
  for (int i = 0; i < 40 && !again; ++i) {
    REQUIRE(b->publish_ephemeral(t, tag("typing again ", i)).ok());
    again = got.wait_for([&](const ExternalChange& c) { return c.ephemeral.rfind("typing again", 0) == 0; },
                         std::chrono::seconds(1));
  }
  CHECK(again);
  for (const auto& c : got.seen()) CHECK(c.ephemeral != "mine typing");

  // After set_change_listener returns, the old listener is never called again.
  a->set_change_listener({});
  const auto before = got.seen().size();
  REQUIRE(b->append_message(t, text_message("unheard"), kT0).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(got.seen().size() == before);
}

TEST_CASE("postgres store: lost connections are replaced, and an unreachable database is kUnavailable (not a crash)",
          "[store][postgres]") {
  CHAT_REQUIRE_PG();
  TempDir dir;
  const std::string db = dir.pg_database();
  auto s = open_on(db, 2);
  auto conv = s->create_conversation(NewConversation{}, kT0);
  REQUIRE(conv.ok());
  const std::string terminate =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "' AND pid <> pg_backend_pid()";
  // Every pooled connection's backend goes away (as in a server restart):
  // the next calls run on fresh connections.
  chat::testing::pg_admin(terminate);
  CHECK(s->get_conversation(conv->id).ok());
  CHECK(s->append_message(conv->id, text_message("after the restart"), kT0).ok());
  chat::testing::pg_admin(terminate);
  CHECK(s->append_message(conv->id, text_message("after another restart"), kT0).ok());

  // The database refuses connections (as a server that is down): every call
  // answers kUnavailable.
  chat::testing::pg_admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
  chat::testing::pg_admin(terminate);
  auto read = s->get_conversation(conv->id);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code == ErrorCode::kUnavailable);
  auto write = s->append_message(conv->id, text_message("refused"), kT0);
  REQUIRE_FALSE(write.ok());
  CHECK(write.error().code == ErrorCode::kUnavailable);
  auto typing = s->publish_ephemeral(conv->id, "typing");
  REQUIRE_FALSE(typing.ok());
  CHECK(typing.error().code == ErrorCode::kUnavailable);

  // Back: the pool reconnects on the next call.
  chat::testing::pg_admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true");
  auto back = s->get_conversation(conv->id);
  REQUIRE(back.ok());
  CHECK(back->total_messages == 2);
}
