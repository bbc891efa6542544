// Group commit (issue 11): concurrent writes share one transaction, each in
// its own savepoint. A write that fails fails alone and leaves nothing; a
// transaction that fails fails its whole group and keeps none of it; nothing
// is answered before the COMMIT. The Database-level cases force a group by
// holding the writer lock (with_writer) until every job has queued; the
// Store-level case gets its groups from plain concurrency.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "chat/sqlite_store.hpp"
#include "store/sqlite/database.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::sqlite::Conn;
using chat::sqlite::Database;
using chat::testing::TempDir;

namespace {

// Holds the writer lock until release(): jobs queued meanwhile form one group.
class WriterHold {
 public:
  explicit WriterHold(Database& db) {
    thread_ = std::thread([this, &db] {
      (void)db.with_writer<void>([this](Conn&) -> Status {
        std::unique_lock lk(mu_);
        held_ = true;
        cv_.notify_all();
        cv_.wait(lk, [this] { return released_; });
        return {};
      });
    });
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return held_; });
  }
  ~WriterHold() {
    release();
    thread_.join();
  }
  void release() {
    std::lock_guard lk(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
  std::thread thread_;
};

// Generous: the machine is loaded; this only guards against a hang.
void wait_queued(Database& db, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (db.queued_writes() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(db.queued_writes() == n);
}

std::unique_ptr<Database> open_db(const TempDir& dir, int max_group = 64) {
  SqliteOptions o;
  o.path = dir.file("gc.db");
  o.reader_connections = 1;
  o.max_group_writes = max_group;
  auto db = std::make_unique<Database>(o);
  REQUIRE(db->open().ok());
  auto made = db->with_writer<void>([](Conn& w) -> Status {
    w.db().exec(
        "CREATE TABLE gc_rows (k TEXT PRIMARY KEY, v BLOB); "
        "CREATE TABLE gc_parent (id INTEGER PRIMARY KEY); "
        "CREATE TABLE gc_child (parent INTEGER REFERENCES gc_parent(id))");
    return {};
  });
  REQUIRE(made.ok());
  return db;
}

void put(Conn& w, const std::string& k, std::int64_t bytes = 8) {
  SQLite::Statement s(w.db(), "INSERT INTO gc_rows (k, v) VALUES (?, zeroblob(?))");
  s.bind(1, k);
  s.bind(2, bytes);
  s.exec();
}

bool present(Database& db, const std::string& k) {
  auto r = db.read<bool>([&](Conn& c) -> Result<bool> {
    SQLite::Statement s(c.db(), "SELECT 1 FROM gc_rows WHERE k = ?");
    s.bind(1, k);
    return s.executeStep();
  });
  REQUIRE(r.ok());
  return *r;
}

// Runs `jobs` as one group: each on its own thread, released together.
std::vector<Status> run_as_group(Database& db, const std::vector<std::function<Status(Conn&)>>& jobs) {
  std::vector<Status> out(jobs.size());
  std::vector<std::thread> threads;
  const auto before = db.commit_stats();
  {
    WriterHold hold(db);
    for (std::size_t i = 0; i < jobs.size(); ++i)
      threads.emplace_back([&, i] { out[i] = db.write<void>([&](Conn& w) { return jobs[i](w); }); });
    wait_queued(db, jobs.size());
  }
  for (auto& t : threads) t.join();
  const auto after = db.commit_stats();
  CHECK(after.groups - before.groups == 1);
  CHECK(after.jobs - before.jobs == static_cast<std::int64_t>(jobs.size()));
  return out;
}

}  // namespace

TEST_CASE("group commit: an error or an exception in one write fails that write alone", "[store][group-commit][sqlite]") {
  TempDir dir;
  auto db = open_db(dir);
  std::atomic<int> committed_hooks{0};
  std::vector<std::function<Status(Conn&)>> jobs;
  // 0: ok; 1: error Result after writing; 2: throws after writing; 3: UNIQUE
  // violation (SQLite exception, statement-level); repeated.
  for (int i = 0; i < 12; ++i) {
    jobs.push_back([&, i](Conn& w) -> Status {
      const std::string k = "k" + std::to_string(i);
      put(w, k);
      db->on_commit([&] { committed_hooks.fetch_add(1); });
      switch (i % 4) {
        case 1:
          return Error::conflict("refused after writing");
        case 2:
          throw std::runtime_error("job threw after writing");
        case 3:
          put(w, k);  // the same key again
          return {};
        default:
          return {};
      }
    });
  }
  const auto results = run_as_group(*db, jobs);
  for (int i = 0; i < 12; ++i) {
    INFO("job " << i);
    const std::string k = "k" + std::to_string(i);
    switch (i % 4) {
      case 0:
        CHECK(results[i].ok());
        CHECK(present(*db, k));
        break;
      case 1:
        REQUIRE_FALSE(results[i].ok());
        CHECK(results[i].error().code == ErrorCode::kConflict);
        CHECK_FALSE(present(*db, k));
        break;
      case 2:
        REQUIRE_FALSE(results[i].ok());
        CHECK(results[i].error().code == ErrorCode::kInternal);
        CHECK_FALSE(present(*db, k));
        break;
      case 3:
        REQUIRE_FALSE(results[i].ok());
        CHECK(results[i].error().code == ErrorCode::kConflict);
        CHECK_FALSE(present(*db, k));  // its first insert went with its savepoint
        break;
    }
  }
  CHECK(committed_hooks.load() == 3);  // only the committed writes' hooks ran
  // The store stays usable, and a lone writer commits in a group of one.
  const auto before = db->commit_stats();
  CHECK(db->write<void>([](Conn& w) -> Status {
          put(w, "after");
          return {};
        }).ok());
  CHECK(present(*db, "after"));
  CHECK(db->commit_stats().groups == before.groups + 1);
}

TEST_CASE("group commit: a failed COMMIT fails every write of the group and keeps none", "[store][group-commit][sqlite]") {
  TempDir dir;
  auto db = open_db(dir);
  std::atomic<int> committed_hooks{0};
  std::vector<std::function<Status(Conn&)>> jobs;
  for (int i = 0; i < 6; ++i) {
    jobs.push_back([&, i](Conn& w) -> Status {
      put(w, "c" + std::to_string(i));
      db->on_commit([&] { committed_hooks.fetch_add(1); });
      if (i == 3) {
        // A deferred foreign key violation: every statement and savepoint
        // succeeds, and the COMMIT of the whole transaction is refused.
        w.db().exec("PRAGMA defer_foreign_keys=ON");
        w.db().exec("INSERT INTO gc_child (parent) VALUES (42)");
      }
      return {};
    });
  }
  const auto results = run_as_group(*db, jobs);
  for (int i = 0; i < 6; ++i) {
    INFO("job " << i);
    REQUIRE_FALSE(results[i].ok());
    CHECK(results[i].error().code == ErrorCode::kInternal);
    CHECK_FALSE(present(*db, "c" + std::to_string(i)));
  }
  CHECK(committed_hooks.load() == 0);
  // Rolled back, not left open: the next writes commit.
  const auto again = run_as_group(*db, {[](Conn& w) -> Status {
                                          put(w, "again1");
                                          return {};
                                        },
                                        [](Conn& w) -> Status {
                                          put(w, "again2");
                                          return {};
                                        }});
  CHECK(again[0].ok());
  CHECK(again[1].ok());
  CHECK(present(*db, "again1"));
  CHECK(present(*db, "again2"));
}

TEST_CASE("group commit: a write that fills the database leaves every answer true", "[store][group-commit][sqlite]") {
  TempDir dir;
  auto db = open_db(dir);
  std::vector<std::function<Status(Conn&)>> jobs;
  for (int i = 0; i < 6; ++i) {
    jobs.push_back([i](Conn& w) -> Status {
      if (i != 2) {
        put(w, "f" + std::to_string(i));
        return {};
      }
      // Caps the file near its size, then writes 4 MiB: SQLITE_FULL. The cap
      // is lifted again whatever happens, so the other writes have room.
      const auto pages = w.db().execAndGet("PRAGMA page_count").getInt64();
      w.db().exec("PRAGMA max_page_count=" + std::to_string(pages + 16));
      try {
        put(w, "f2", 4 << 20);
      } catch (...) {
        w.db().exec("PRAGMA max_page_count=1073741823");
        throw;
      }
      return {};
    });
  }
  const auto results = run_as_group(*db, jobs);
  REQUIRE_FALSE(results[2].ok());
  CHECK(results[2].error().code == ErrorCode::kUnavailable);  // "the database is full"
  CHECK_FALSE(present(*db, "f2"));
  // SQLite may roll back the statement or the whole transaction on
  // SQLITE_FULL (3.40 rolls back the transaction: the whole group fails);
  // either way every answer is true: ok means present, and a write failed
  // with its group gets the group's error.
  for (int i = 0; i < 6; ++i) {
    if (i == 2) continue;
    INFO("job " << i);
    CHECK(results[i].ok() == present(*db, "f" + std::to_string(i)));
    if (!results[i].ok()) CHECK(results[i].error().code == ErrorCode::kUnavailable);
  }
  CHECK(db->write<void>([](Conn& w) -> Status {
          put(w, "after-full");
          return {};
        }).ok());
  CHECK(present(*db, "after-full"));
}

TEST_CASE("group commit: max_group_writes 1 runs every write alone", "[store][group-commit][sqlite]") {
  TempDir dir;
  auto db = open_db(dir, 1);
  std::vector<std::thread> threads;
  std::vector<Status> out(4);
  const auto before = db->commit_stats();
  {
    WriterHold hold(*db);
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&, i] {
        out[i] = db->write<void>([&](Conn& w) -> Status {
          put(w, "one" + std::to_string(i));
          return {};
        });
      });
    wait_queued(*db, 4);
  }
  for (auto& t : threads) t.join();
  for (const auto& s : out) CHECK(s.ok());
  CHECK(db->commit_stats().groups - before.groups == 4);
}

TEST_CASE("group commit: concurrent appends, refused ones fail alone, counters exact", "[store][group-commit]") {
  for (const auto& factory : chat::testing::store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto store = chat::testing::open_test_store(factory, dir);
      NewConversation nc;
      nc.handle = "gc-a";
      auto a = store->create_conversation(nc, Timestamp{});
      nc.handle = "gc-b";
      auto b = store->create_conversation(nc, Timestamp{});
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      constexpr int kThreads = 8;
      constexpr int kOps = 40;
      enum class Kind { kRefused, kUnknown, kDuplicate, kPlain };
      struct Outcome {
        Kind kind;
        int op;
        Result<AppendOutcome> r;
      };
      std::vector<std::vector<Outcome>> outcomes(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kOps; ++i) {
            NewMessage m;
            m.role = i % 2 ? Role::kAssistant : Role::kUser;
            m.content = "gcword thread " + std::to_string(t) + " op " + std::to_string(i);
            m.tokens_used = 2;
            const Kind kind = static_cast<Kind>(i % 4);
            std::int64_t conv = t % 2 ? a->id : b->id;
            AppendPrecondition pre;
            switch (kind) {
              case Kind::kRefused:
                pre = [](const Conversation&) -> Status { return Error::permission_denied("closed"); };
                break;
              case Kind::kUnknown:
                conv = 987654321;
                break;
              case Kind::kDuplicate:
                conv = a->id;
                m.client_id = "dup-" + std::to_string(i);  // the same across threads
                m.tokens_used = 0;
                break;
              case Kind::kPlain:
                break;
            }
            outcomes[t].push_back({kind, i, store->append_message(conv, m, Timestamp{}, pre)});
          }
        });
      }
      for (auto& th : threads) th.join();

      std::map<std::int64_t, std::int64_t> created;  // conversation -> created messages
      std::map<std::int64_t, std::int64_t> tokens;
      std::map<int, std::set<std::int64_t>> duplicate_ids;  // op -> ids answered
      std::map<int, int> duplicate_created;
      std::int64_t plain = 0;
      for (const auto& per_thread : outcomes) {
        for (const auto& o : per_thread) {
          INFO("op " << o.op);
          switch (o.kind) {
            case Kind::kRefused:
              REQUIRE_FALSE(o.r.ok());
              CHECK(o.r.error().code == ErrorCode::kPermissionDenied);
              break;
            case Kind::kUnknown:
              REQUIRE_FALSE(o.r.ok());
              CHECK(o.r.error().code == ErrorCode::kNotFound);
              break;
            case Kind::kDuplicate:
              REQUIRE(o.r.ok());
              duplicate_ids[o.op].insert(o.r->message.id);
              if (o.r->created) {
                ++duplicate_created[o.op];
                ++created[o.r->message.conversation_id];
              }
              break;
            case Kind::kPlain:
              REQUIRE(o.r.ok());
              CHECK(o.r->created);
              ++plain;
              ++created[o.r->message.conversation_id];
              tokens[o.r->message.conversation_id] += 2;
              break;
          }
          if (o.r.ok()) {
            // Every acknowledged message is readable, as written.
            auto got = store->get_message(o.r->message.id);
            REQUIRE(got.ok());
            CHECK(got->content == o.r->message.content);
          }
        }
      }
      for (const auto& [op, ids] : duplicate_ids) {
        INFO("duplicate op " << op);
        CHECK(ids.size() == 1);  // every post of one client_id got the same message
        CHECK(duplicate_created[op] == 1);
      }
      CHECK(plain == kThreads * kOps / 4);
      for (const auto* conv : {&*a, &*b}) {
        auto now = store->get_conversation(conv->id);
        REQUIRE(now.ok());
        CHECK(now->total_messages == created[conv->id]);
        CHECK(now->total_tokens == tokens[conv->id]);
        MessageQuery q;
        q.limit = 1000;
        auto listed = store->list_messages(conv->id, q);
        REQUIRE(listed.ok());
        CHECK(static_cast<std::int64_t>(listed->items.size()) == created[conv->id]);
      }
      // The indexer learnt every committed id (the append's on_commit hook).
      SearchQuery sq;
      sq.text = "gcword";
      sq.limit = 1;
      auto hits = store->search_messages(sq);
      REQUIRE(hits.ok());
      CHECK(hits->total == created[a->id] + created[b->id]);
    }
  }
}
