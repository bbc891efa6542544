// chat_bench: the storage benchmark. Run by hand (make bench), never as a test.
//
// Every figure is measured in one run against a baseline measured in the
// same run on the same machine (raw SQLite through SQLiteCpp), because
// absolute times drift on shared machines. One function per measured
// operation, so that new lines (e.g. append through ChatService) slot in.
//
// usage: chat_bench [--rows N] [--appends N] [--reads N] [--searches N] [--dir PATH] [--rank]
//                   [--dashboard-rows N] [--dashboards N] [--only LETTERS]
//                   [--writers N] [--concurrent-appends N] [--full-appends N]
//        chat_bench reply-window [--replies N] [--dir PATH]
//        chat_bench tokens
//   --rows      messages in the large store for (b) and (c)   (default 1000000)
//   --appends   single-row transactions timed in (a)           (default 20000)
//   --reads     latest-50 queries timed in (b)                 (default 2000)
//   --searches  searches per word timed in (c)                 (default 200)
//   --dir       where the temporary databases go               (default $TMPDIR or /tmp)
//   --rank      also time FTS5 ORDER BY rank over all matches (slow; for reference)
//   --dashboard-rows  messages of the one user of (d)         (default 2000000)
//   --dashboards      dashboards per thread timed in (d)       (default 20)
//   --only      the parts to run, e.g. "cd"                    (default abcde)
//   --writers   threads appending at once in (e)               (default 16)
//   --concurrent-appends  appends per line in (e)              (default 20000)
//   --full-appends  appends per synchronous=FULL line in (e)   (default 2000)
//   (e) group commit (issue 11): N threads appending at once, Store and
//   ChatService with max_group_writes 1 (one transaction per append, as
//   before) and 64, against raw inserts behind one mutex (one transaction per row)
//   reply-window: ChatService::reply (echo provider, the seed 001 chat
//   workload) in sessions of 10, 1,000 and 6,000 messages (issue 11: a
//   reply costs what its context window holds, not what the session holds)
//   --replies   replies timed per session size                 (default 400)
#include <stdlib.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/llm.hpp"
#include "chat/service.hpp"
#include "chat/sqlite_store.hpp"
#include "chat/store.hpp"
#include "chat/uuid.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/search_index.hpp"
#include "llm/tiktoken.hpp"
#include "service/context_window.hpp"
#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::int64_t rows = 1'000'000;
  std::int64_t appends = 20'000;
  std::int64_t reads = 2'000;
  std::int64_t searches = 200;
  std::int64_t replies = 400;
  bool reply_window = false;
  bool tokens = false;
  std::string dir;
  bool rank = false;
  std::int64_t dashboard_rows = 2'000'000;
  std::int64_t dashboards = 20;
  std::string only = "abcde";
  int writers = 16;
  std::int64_t concurrent_appends = 20'000;
  std::int64_t full_appends = 2'000;
  bool runs(char part) const { return only.find(part) != std::string::npos; }
};

// Latencies of one measured operation, in microseconds.
struct Stats {
  std::vector<double> us;
  double wall_s = 0;  // wall time of the whole run (may include work outside the samples)

  double ops_per_s() const { return wall_s > 0 ? static_cast<double>(us.size()) / wall_s : 0; }
  double pct(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(us.size() - 1));
    return us[i];
  }
};

// Times `n` calls of `op`; the wall time covers the calls plus `finish`.
Stats time_ops(std::int64_t n, const std::function<void(std::int64_t)>& op,
               const std::function<void()>& finish = {}) {
  Stats st;
  st.us.reserve(static_cast<std::size_t>(n));
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto t = Clock::now();
    op(i);
    st.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  if (finish) finish();
  st.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return st;
}

void print_row(const char* name, Stats& s, const char* vs = nullptr, double ratio = 0) {
  std::printf("  %-46s %10.0f ops/s   p50 %8.1f us   p99 %8.1f us", name, s.ops_per_s(), s.pct(50), s.pct(99));
  if (vs) std::printf("   %5.2fx %s", ratio, vs);
  std::printf("\n");
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "chat_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(chat::Result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

chat::Timestamp now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Message text: a dozen words from a Zipf-like vocabulary; "hello" in about
// half of the messages (the common word), "xylophone" in one per 100,000
// (the rare word).
class TextGen {
 public:
  explicit TextGen(unsigned seed) : rng_(seed) {
    for (int i = 0; i < 5000; ++i) vocab_.push_back("w" + std::to_string(i));
  }
  std::string next(std::int64_t i) {
    std::string s;
    for (int w = 0; w < 12; ++w) {
      // Zipf-ish: the square of a uniform favours low indices.
      const double u = dist_(rng_);
      s += vocab_[static_cast<std::size_t>(u * u * static_cast<double>(vocab_.size() - 1))];
      s += ' ';
    }
    if (i % 2 == 0) s += "hello ";
    if (i % 100'000 == 7) s += "xylophone ";
    s += "end";
    return s;
  }

 private:
  std::mt19937 rng_;
  std::uniform_real_distribution<double> dist_{0.0, 1.0};
  std::vector<std::string> vocab_;
};

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path + suffix);
}

SQLite::Database open_raw(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  chat::sqlite::register_search_functions(db);  // the index's tokenizer (schema step 9)
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA cache_size=-65536");
  return db;
}

// ---- (a) appends ------------------------------------------------------------

// One way of appending a message. The lines of (a) run interleaved, in
// chunks, in rotating order, so that noise from the shared machine (other
// builds, page-cache writeback, WAL checkpoints) hits every line alike.
class Appender {
 public:
  virtual ~Appender() = default;
  virtual void append(std::int64_t i) = 0;
  // Work owed at the end of a chunk, e.g. indexing what is still pending:
  // it counts in the wall time, so deferred work is not hidden.
  virtual void settle() {}
};

// The baseline: a message-like row (same columns; with_indexes adds the
// UNIQUE uuid and (conversation_id, id) indexes the store also has) inserted
// through SQLiteCpp, one transaction per row, WAL, synchronous=NORMAL, no
// search index.
class RawAppender final : public Appender {
 public:
  // checkpoint_pages: 0 keeps SQLite's default wal_autocheckpoint (1000).
  RawAppender(const std::string& path, bool with_indexes, int checkpoint_pages = 0)
      : path_(path), db_(open_raw(path)) {
    if (checkpoint_pages > 0) db_.exec("PRAGMA wal_autocheckpoint=" + std::to_string(checkpoint_pages));
    db_.exec(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL, conversation_id INTEGER "
        "NOT NULL, client_id TEXT, role TEXT NOT NULL, content TEXT NOT NULL, content_type TEXT NOT NULL, "
        "message_type TEXT NOT NULL, status TEXT NOT NULL, metadata TEXT NOT NULL, tokens_used INTEGER, "
        "processing_time REAL, cost REAL, attachment_count INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, "
        "updated_at INTEGER NOT NULL, deleted_at INTEGER)");
    if (with_indexes) {
      db_.exec("CREATE UNIQUE INDEX messages_uuid ON messages(uuid)");
      db_.exec("CREATE INDEX messages_conversation ON messages(conversation_id, id)");
    }
    ins_ = std::make_unique<SQLite::Statement>(
        db_,
        "INSERT INTO messages (uuid, conversation_id, client_id, role, content, content_type, message_type, status, "
        "metadata, tokens_used, created_at, updated_at) VALUES (?,?,NULL,?,?,'text','text','sent','{}',?,?,?)");
  }
  SQLite::Database& db() { return db_; }
  ~RawAppender() override {
    ins_.reset();
    remove_db(path_);
  }
  void append(std::int64_t i) override {
    const std::string text = gen_.next(i);
    const auto t = chat::to_millis(now());
    SQLite::Transaction tx(db_);
    ins_->bind(1, chat::generate_uuid_v4());
    ins_->bind(2, std::int64_t{1});
    ins_->bind(3, i % 2 ? "assistant" : "user");
    ins_->bind(4, text);
    ins_->bind(5, std::int64_t{12});
    ins_->bind(6, t);
    ins_->bind(7, t);
    ins_->exec();
    ins_->reset();
    tx.commit();
  }

 private:
  std::string path_;
  SQLite::Database db_;
  std::unique_ptr<SQLite::Statement> ins_;
  TextGen gen_{1};
};

// The store both library lines append to: same durability as the raw
// baseline (WAL, synchronous=NORMAL), search indexing on.
std::unique_ptr<chat::Store> open_bench_store(const std::string& path) {
  chat::SqliteOptions o;
  o.path = path;
  o.durability = chat::Durability::kNormal;
  return must(chat::open_sqlite_store(o), "open store");
}

// Message i of an append line, alike in every line (the raw one binds the same values).
chat::NewMessage bench_message(TextGen& gen, std::int64_t i) {
  chat::NewMessage m;
  m.role = i % 2 ? chat::Role::kAssistant : chat::Role::kUser;
  m.content = gen.next(i);
  m.tokens_used = 12;
  return m;
}

// Store::append_message with the same durability and search indexing on
// (the background indexer runs; settle() indexes what is left).
class StoreAppender final : public Appender {
 public:
  explicit StoreAppender(const std::string& path) : path_(path) {
    store_ = open_bench_store(path);
    conv_ = must(store_->create_conversation(chat::NewConversation{}, now()), "create conversation").id;
  }
  ~StoreAppender() override {
    chat::SearchQuery q;
    q.text = "hello";
    if (must(store_->search_messages(q), "search").total == 0) die("appended messages are not searchable");
    store_.reset();
    remove_db(path_);
  }
  void append(std::int64_t i) override { must(store_->append_message(conv_, bench_message(gen_, i), now()), "append"); }
  void settle() override { must(store_->flush_search_index(), "flush index"); }

 private:
  std::string path_;
  std::unique_ptr<chat::Store> store_;
  std::int64_t conv_ = 0;
  TextGen gen_{1};
};

// ChatService::post_message over the same store: adds validation, access
// checks, the expiry check and the event publish to every append.
class ServiceAppender final : public Appender {
 public:
  explicit ServiceAppender(const std::string& path) : path_(path) {
    chat::ServiceDeps deps;
    deps.store = open_bench_store(path);
    store_ = deps.store;
    service_ = must(chat::make_chat_service(std::move(deps)), "make service");
    conv_ = must(service_->create_conversation(who_, chat::NewConversation{}), "create conversation").id;
  }
  ~ServiceAppender() override {
    service_.reset();
    store_.reset();
    remove_db(path_);
  }
  void append(std::int64_t i) override {
    must(service_->post_message(who_, chat::ConversationKey::of_id(conv_), bench_message(gen_, i)), "post");
  }
  void settle() override { must(store_->flush_search_index(), "flush index"); }

 private:
  std::string path_;
  chat::Principal who_ = chat::Principal::user("bench");
  std::shared_ptr<chat::Store> store_;
  std::unique_ptr<chat::ChatService> service_;
  std::int64_t conv_ = 0;
  TextGen gen_{1};
};

std::vector<Stats> bench_appends(const Config& cfg, const std::vector<Appender*>& lines) {
  constexpr std::int64_t kChunk = 1000;
  std::vector<Stats> stats(lines.size());
  std::int64_t done = 0;
  for (std::size_t round = 0; done < cfg.appends; ++round) {
    const std::int64_t n = std::min(kChunk, cfg.appends - done);
    for (std::size_t k = 0; k < lines.size(); ++k) {
      const std::size_t which = (k + round) % lines.size();
      auto part = time_ops(
          n, [&](std::int64_t i) { lines[which]->append(done + i); }, [&] { lines[which]->settle(); });
      stats[which].us.insert(stats[which].us.end(), part.us.begin(), part.us.end());
      stats[which].wall_s += part.wall_s;
    }
    done += n;
  }
  return stats;
}

// ---- the large store for (b) and (c) ----------------------------------------

// Indexes every message in bulk, as the store's indexer would, for the
// schema of the store this bench was built with (step 9: scopes before the
// text; step 8: a scope column; before issue 11: the text alone), so that
// one bench source measures each.
void fill_search_index(SQLite::Database& db) {
  if (db.execAndGet("SELECT sql LIKE '%chat_scoped%' FROM sqlite_master WHERE name = 'messages_fts'").getInt() > 0)
    db.exec(
        "INSERT INTO messages_fts (rowid, content) SELECT m.id, 'c' || c.id || ' u' || hex(c.user_id) || char(31) || "
        "m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id");
  else if (db.execAndGet("SELECT COUNT(*) FROM pragma_table_info('messages_fts') WHERE name = 'scope'").getInt() > 0)
    db.exec(
        "INSERT INTO messages_fts (rowid, content, scope) SELECT m.id, m.content, 'c' || c.id || ' u' || "
        "hex(c.user_id) FROM messages m JOIN conversations c ON c.id = m.conversation_id");
  else
    db.exec("INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages");
}

constexpr std::int64_t kConversations = 1000;

// Builds a store of cfg.rows messages over kConversations conversations,
// interleaved like real traffic. The rows go in through SQL in big
// transactions (the Store API has one transaction per append), then the
// counters and the search index are brought up to date in bulk.
std::string build_large_store(const Config& cfg) {
  const std::string path = cfg.dir + "/bench-large.db";
  remove_db(path);
  {
    chat::SqliteOptions o;
    o.path = path;
    auto store = must(chat::open_sqlite_store(o), "open store");
    for (std::int64_t c = 0; c < kConversations; ++c) {
      chat::NewConversation nc;
      nc.user_id = "user" + std::to_string(c % 50);
      must(store->create_conversation(nc, now()), "create conversation");
    }
  }
  const auto start = Clock::now();
  auto db = open_raw(path);
  db.exec("PRAGMA synchronous=OFF");
  SQLite::Statement ins(db,
                        "INSERT INTO messages (uuid, conversation_id, role, content, tokens_used, created_at, "
                        "updated_at) VALUES (?,?,?,?,?,?,?)");
  TextGen gen(2);
  const auto t0 = chat::to_millis(now()) - cfg.rows;
  constexpr std::int64_t kBatch = 50'000;
  for (std::int64_t i = 0; i < cfg.rows;) {
    SQLite::Transaction tx(db);
    for (std::int64_t j = 0; j < kBatch && i < cfg.rows; ++j, ++i) {
      ins.bind(1, chat::generate_uuid_v4());
      ins.bind(2, 1 + i % kConversations);
      ins.bind(3, i % 2 ? "assistant" : "user");
      ins.bind(4, gen.next(i));
      ins.bind(5, std::int64_t{12});
      ins.bind(6, t0 + i);
      ins.bind(7, t0 + i);
      ins.exec();
      ins.reset();
    }
    tx.commit();
  }
  {
    SQLite::Transaction tx(db);
    db.exec(
        "UPDATE conversations SET total_messages = (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = "
        "conversations.id), unread_count = (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = "
        "conversations.id AND m.role != 'user'), total_tokens = (SELECT COALESCE(SUM(tokens_used), 0) FROM "
        "messages m WHERE m.conversation_id = conversations.id), last_message_at = (SELECT MAX(created_at) FROM "
        "messages m WHERE m.conversation_id = conversations.id)");
    fill_search_index(db);
    db.exec("UPDATE fts_state SET last_indexed_id = (SELECT COALESCE(MAX(id), 0) FROM messages)");
    tx.commit();
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::printf("  built %lld messages in %lld conversations in %.1f s\n", static_cast<long long>(cfg.rows),
              static_cast<long long>(kConversations),
              std::chrono::duration<double>(Clock::now() - start).count());
  return path;
}

// ---- (b) latest 50 ------------------------------------------------------------

// The baseline: the indexed query through SQLiteCpp, every column read out
// (as text or numbers) as any caller would, without building Message values.
Stats bench_raw_latest50(const Config& cfg, const std::string& path, std::int64_t conv) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  db.exec("PRAGMA cache_size=-16384");
  SQLite::Statement q(db,
                      "SELECT id, uuid, conversation_id, client_id, role, content, content_type, message_type, "
                      "status, metadata, tokens_used, processing_time, cost, created_at, updated_at, deleted_at, "
                      "attachment_count FROM messages WHERE conversation_id = ? AND deleted_at IS NULL "
                      "ORDER BY id DESC LIMIT 50");
  std::size_t sink = 0;
  auto st = time_ops(cfg.reads, [&](std::int64_t) {
    q.bind(1, conv);
    while (q.executeStep()) {
      for (int c : {1, 3, 4, 5, 6, 7, 8, 9}) sink += q.getColumn(c).getString().size();
      for (int c : {0, 2, 10, 13, 14, 15, 16}) sink += static_cast<std::size_t>(q.getColumn(c).getInt64());
      for (int c : {11, 12}) sink += static_cast<std::size_t>(q.getColumn(c).getDouble());
    }
    q.reset();
  });
  if (sink == 0) die("raw latest-50 read nothing");
  return st;
}

Stats bench_store_latest50(const Config& cfg, chat::Store& store, std::int64_t conv) {
  chat::MessageQuery q;
  q.newest_first = true;
  q.limit = 50;
  return time_ops(cfg.reads, [&](std::int64_t) {
    auto p = must(store.list_messages(conv, q), "list_messages");
    if (p.items.size() != 50 && p.total >= 50) die("latest-50 returned a short page");
  });
}

// ---- (c) search ---------------------------------------------------------------

// Scope of a search: everyone's messages (an admin), one owner's (what a
// user's search is: ChatService scopes it to the caller), one conversation's.
struct SearchScope {
  const char* name = "all";
  std::optional<std::string> user_id;
  std::optional<std::int64_t> conversation_id;
};

Stats bench_store_search(const Config& cfg, chat::Store& store, const char* word, std::int64_t* total,
                         const SearchScope& scope = {}) {
  chat::SearchQuery q;
  q.user_id = scope.user_id;
  q.conversation_id = scope.conversation_id;
  q.text = word;
  q.limit = 20;
  return time_ops(cfg.searches, [&](std::int64_t) { *total = must(store.search_messages(q), "search").total; });
}

Stats bench_raw_fts(const Config& cfg, const std::string& path, const char* word, const char* order,
                    std::int64_t runs) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  chat::sqlite::register_search_functions(db);
  SQLite::Statement q(db, std::string("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY ") + order +
                              " LIMIT 20");
  (void)cfg;
  // Each word its own FTS5 string, ANDed: what the store's query means.
  std::string match;
  for (const char* p = word; *p;) {
    const char* e = std::strchr(p, ' ');
    if (!e) e = p + std::strlen(p);
    match += (match.empty() ? "\"" : " \"") + std::string(p, e) + "\"";
    p = *e ? e + 1 : e;
  }
  return time_ops(runs, [&](std::int64_t) {
    q.bind(1, match);
    while (q.executeStep()) {
    }
    q.reset();
  });
}

// ---- reply-window: one reply by session size (issue 11) ---------------------
//
// The seed 001 chat workload: "What is AI?" answered by the echo provider in a
// session whose history alternates that question and its echo. Each size has
// kReplySessions sessions, prefilled through ChatService::post_message (so
// the messages are stored as the service stores them), and the timed replies
// go round robin over them, so that a session grows by only
// 2 * replies / kReplySessions messages while it is measured.
constexpr std::int64_t kReplySessions = 40;

Stats bench_replies(const Config& cfg, std::int64_t size, Stats* reads) {
  const std::string path = cfg.dir + "/bench-reply-" + std::to_string(size) + ".db";
  chat::ServiceDeps deps;
  deps.store = open_bench_store(path);
  std::shared_ptr<chat::Store> store = deps.store;
  deps.llm = chat::make_echo_provider();
  auto service = must(chat::make_chat_service(std::move(deps)), "make service");
  const auto who = chat::Principal::user("bench");
  std::vector<std::int64_t> sessions;
  for (std::int64_t k = 0; k < kReplySessions; ++k) {
    const auto id = must(service->create_conversation(who, chat::NewConversation{}), "create conversation").id;
    for (std::int64_t i = 0; i < size; ++i) {
      chat::NewMessage m;
      m.role = i % 2 ? chat::Role::kAssistant : chat::Role::kUser;
      m.content = i % 2 ? "Echo: What is AI?" : "What is AI?";
      must(service->post_message(who, chat::ConversationKey::of_id(id), std::move(m)), "post");
    }
    sessions.push_back(id);
  }
  auto reply = [&](std::int64_t i) {
    chat::ReplyRequest r;
    r.content = "What is AI?";
    const auto key = chat::ConversationKey::of_id(sessions[static_cast<std::size_t>(i % kReplySessions)]);
    must(service->reply(who, key, std::move(r)), "reply");
  };
  time_ops(kReplySessions, reply);  // warm: one reply per session, untimed
  auto st = time_ops(cfg.replies, reply);
  if (reads != nullptr) {
    // What the window reads of it: batches as the service asks for them,
    // up to 1,000 messages (the budget of these short turns is never full).
    *reads = time_ops(cfg.replies, [&](std::int64_t i) {
      chat::ContextQuery q;
      q.counter = "bytes/4";
      std::int64_t got = 0, batch = 32;
      for (;;) {
        q.limit = std::min(batch, 1001 - got);
        auto rows = must(store->list_context(sessions[static_cast<std::size_t>(i % kReplySessions)], q), "context");
        got += static_cast<std::int64_t>(rows.size());
        if (static_cast<std::int64_t>(rows.size()) < q.limit || got > 1000) break;
        q.before_id = rows.back().id;
        batch = std::min<std::int64_t>(batch * 4, 512);
      }
    });
  }
  service.reset();
  remove_db(path);
  return st;
}

void bench_reply_window(const Config& cfg) {
  std::printf("\nreply-window: ChatService::reply (echo), %lld replies over %lld sessions per size\n",
              static_cast<long long>(cfg.replies), static_cast<long long>(kReplySessions));
  Stats small;
  for (std::int64_t size : {10, 1000, 6000}) {
    Stats reads;
    auto st = bench_replies(cfg, size, &reads);
    const std::string label = "reply, " + std::to_string(size) + " messages in the session";
    if (size == 10) {
      print_row(label.c_str(), st);
      small = st;
    } else {
      print_row(label.c_str(), st, "p50 of the 10-message p50", st.pct(50) / std::max(small.pct(50), 1e-9));
    }
    print_row("  of which Store::list_context batches", reads);
  }
}

// ---- tokens: the exact counter on hostile text (issue 11) --------------------
//
// No real rank file ships with the project (nothing downloads), so the ranks
// are synthetic: every single byte, plus merges of runs of one letter
// ("aa", "aaaa", ... up to 64), which is the case that made the merge loop
// quadratic (one 256 KiB piece, 26.6 s before the heap merge), and a few
// common English pairs for ordinary text.
std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void bench_tokens(const Config& cfg) {
  std::string ranks;
  int rank = 0;
  for (int b = 0; b < 256; ++b) ranks += base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(rank++) + "\n";
  for (std::size_t n = 2; n <= 64; n *= 2) ranks += base64(std::string(n, 'a')) + " " + std::to_string(rank++) + "\n";
  for (const char* pair : {"th", "he", "in", "er", "an", " t", "the", " the", "re", "on"})
    ranks += base64(pair) + " " + std::to_string(rank++) + "\n";
  auto bpe = must(chat::detail::TiktokenBpe::from_text(ranks, chat::TiktokenEncoding::kCl100kBase), "ranks");
  std::printf("\ntokens: the exact (tiktoken) counter, synthetic ranks (%zu tokens)\n", bpe->vocabulary_size());
  const std::int64_t runs = std::max<std::int64_t>(5, cfg.searches / 20);
  struct Case {
    const char* label;
    std::string text;
  };
  std::string prose;
  while (prose.size() < 256 * 1024) prose += "the other one is in there, then another and the rest. ";
  prose.resize(256 * 1024);
  std::string one_letter_rare(256 * 1024, 'q');
  const Case cases[] = {
      {"256 KiB of one letter, runs merge up to 64 ('a')", std::string(256 * 1024, 'a')},
      {"256 KiB of one letter, no merges ('q')", one_letter_rare},
      {"256 KiB of prose", prose},
  };
  std::int64_t sink = 0;
  for (const auto& c : cases) {
    auto st = time_ops(runs, [&](std::int64_t) { sink += bpe->count(c.text); });
    print_row(c.label, st);
  }
  // A message longer than the whole window is refused by its length, before
  // any exact count (service/context_window.hpp).
  const std::string huge(4 * 1024 * 1024, 'a');
  const std::string rank_file = cfg.dir + "/synthetic.tiktoken";
  std::ofstream(rank_file) << ranks;
  auto counter = must(chat::make_tiktoken_counter(rank_file, chat::TiktokenEncoding::kCl100kBase), "counter");
  bool refused = false;
  auto st = time_ops(runs * 100, [&](std::int64_t) { refused = chat::detail::over_budget_by_length(huge, 8192, *counter); });
  print_row("4 MiB message vs an 8,192-token window: refused by length", st);
  if (!refused || sink == 0) die("token bench: unexpected result");
}

// ---- (d) analytics dashboard --------------------------------------------------

constexpr std::int64_t kDashConversations = 2000;
constexpr std::int64_t kDashRun = 50;  // consecutive messages of one conversation (one activity period)

// Resident set size of this process, in KiB (Linux /proc; 0 elsewhere).
std::int64_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      std::int64_t kib = 0;
      f >> kib;
      return kib;
    }
    f.ignore(1 << 12, '\n');
  }
  return 0;
}

// The largest RSS seen while it lives (sampled every 2 ms).
class RssPeak {
 public:
  RssPeak() : peak_(rss_kib()), thread_([this] {
    while (!stop_) {
      peak_ = std::max(peak_.load(), rss_kib());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }) {}
  ~RssPeak() { finish(); }
  std::int64_t finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return std::max(peak_.load(), rss_kib());
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> peak_;
  std::thread thread_;
};

// One user ("dash") owning kDashConversations support conversations with
// cfg.dashboard_rows messages over the last 30 days: runs of kDashRun
// messages of one conversation ~1.3 s apart (one activity period each),
// user / assistant alternating, a system message every 25th, five personas.
std::string build_dashboard_store(const Config& cfg) {
  const std::string path = cfg.dir + "/bench-dashboard.db";
  remove_db(path);
  const std::int64_t span = 30LL * 86'400'000;
  const std::int64_t t0 = chat::to_millis(now()) - span;
  {
    chat::SqliteOptions o;
    o.path = path;
    auto store = must(chat::open_sqlite_store(o), "open store");
    for (int a = 1; a <= 5; ++a) {
      chat::Agent ag;
      ag.name = "persona " + std::to_string(a);
      must(store->put_agent(ag, now()), "put agent");
    }
    for (std::int64_t c = 0; c < kDashConversations; ++c) {
      chat::NewConversation nc;
      nc.kind = chat::ConversationKind::kSupport;
      nc.user_id = "dash";
      nc.agent_id = 1 + c % 5;
      must(store->create_conversation(nc, chat::from_millis(t0 + c)), "create conversation");
    }
  }
  const auto start = Clock::now();
  auto db = open_raw(path);
  db.exec("PRAGMA synchronous=OFF");
  SQLite::Statement ins(db,
                        "INSERT INTO messages (uuid, conversation_id, role, content, status, created_at, "
                        "updated_at) VALUES (?,?,?,'m',?,?,?)");
  const std::int64_t step = std::max<std::int64_t>(1, span / std::max<std::int64_t>(1, cfg.dashboard_rows));
  constexpr std::int64_t kBatch = 50'000;
  for (std::int64_t i = 0; i < cfg.dashboard_rows;) {
    SQLite::Transaction tx(db);
    for (std::int64_t j = 0; j < kBatch && i < cfg.dashboard_rows; ++j, ++i) {
      ins.bind(1, chat::generate_uuid_v4());
      ins.bind(2, 1 + (i / kDashRun) % kDashConversations);
      ins.bind(3, i % 25 == 24 ? "system" : i % 2 ? "assistant" : "user");
      ins.bind(4, i % 97 == 1 ? "failed" : "sent");
      ins.bind(5, t0 + i * step);
      ins.bind(6, t0 + i * step);
      ins.exec();
      ins.reset();
    }
    tx.commit();
  }
  {
    SQLite::Transaction tx(db);
    db.exec(
        "UPDATE conversations SET total_messages = (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = "
        "conversations.id), last_message_at = (SELECT MAX(created_at) FROM messages m WHERE m.conversation_id = "
        "conversations.id)");
    fill_search_index(db);
    db.exec("UPDATE fts_state SET last_indexed_id = (SELECT COALESCE(MAX(id), 0) FROM messages)");
    // The dashboard sums: the store's append keeps them, a plain INSERT does
    // not; schema step 7 computes them for the rows there.
    for (const auto& migration : chat::detail::sqlite_migrations())
      if (migration.version == 7) {
        db.exec(migration.sql);
        if (migration.apply != nullptr) migration.apply(db);
      }
    tx.commit();
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::printf("  built %lld messages in %lld support conversations of one user in %.1f s\n",
              static_cast<long long>(cfg.dashboard_rows), static_cast<long long>(kDashConversations),
              std::chrono::duration<double>(Clock::now() - start).count());
  return path;
}

void bench_dashboard(const Config& cfg) {
  const auto path = build_dashboard_store(cfg);
  {
    chat::ServiceDeps deps;
    chat::SqliteOptions o;
    o.path = path;
    deps.store = must(chat::open_sqlite_store(o), "open dashboard store");
    auto store = deps.store;
    auto service = must(chat::make_chat_service(std::move(deps)), "make service");
    const auto who = chat::Principal::user("dash");
    chat::DashboardQuery q;
    q.days = 30;
    auto dash = [&] { return must(service->analytics_dashboard(who, q), "dashboard"); };
    const std::int64_t rss0 = rss_kib();
    const auto d = dash();  // warm-up, and the figures printed below
    std::printf("  dashboard: %lld conversations, %lld messages, %lld activity periods, response %.3f s\n",
                static_cast<long long>(d.total_conversations), static_cast<long long>(d.total_messages),
                static_cast<long long>(d.total_activity_periods), d.average_response_time.value_or(-1));
    Stats one;
    std::int64_t peak1 = 0;
    {
      RssPeak peak;
      one = time_ops(cfg.dashboards, [&](std::int64_t) { dash(); });
      peak1 = peak.finish();
    }
    print_row("ChatService::analytics_dashboard, 1 thread", one);
    std::printf("  %-46s RSS %+.1f MB (peak over the run, from %.1f MB before the first dashboard)\n", "",
                static_cast<double>(peak1 - rss0) / 1024.0, static_cast<double>(rss0) / 1024.0);

    // Eight at once, while a ninth thread reads the latest 50 messages of one
    // conversation every 5 ms: its latency shows whether dashboards starve
    // other readers of connections.
    constexpr int kThreads = 8;
    Stats eight;
    Stats probe;
    std::int64_t peak8 = 0;
    {
      RssPeak peak;
      std::atomic<bool> done{false};
      std::thread prober([&] {
        chat::MessageQuery mq;
        mq.newest_first = true;
        mq.limit = 50;
        while (!done) {
          const auto t = Clock::now();
          must(store->list_messages(kDashConversations / 2, mq), "list_messages");
          probe.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
      std::vector<Stats> per(kThreads);
      std::vector<std::thread> threads;
      const auto start = Clock::now();
      for (int k = 0; k < kThreads; ++k)
        threads.emplace_back([&, k] { per[k] = time_ops(cfg.dashboards, [&](std::int64_t) { dash(); }); });
      for (auto& t : threads) t.join();
      eight.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
      done = true;
      prober.join();
      for (auto& p : per) eight.us.insert(eight.us.end(), p.us.begin(), p.us.end());
      peak8 = peak.finish();
    }
    print_row("ChatService::analytics_dashboard, 8 threads", eight);
    std::printf("  %-46s RSS %+.1f MB (peak over the run, from before the first dashboard)\n", "",
                static_cast<double>(peak8 - rss0) / 1024.0);
    const double probe_max = probe.us.empty() ? 0 : *std::max_element(probe.us.begin(), probe.us.end());
    print_row("  meanwhile: list_messages latest 50", probe);
    std::printf("  %-46s max %.1f us over %zu reads\n", "", probe_max, probe.us.size());
  }
  remove_db(path);
}


// ---- (e) concurrent appends: group commit (issue 11) ------------------------

// One way of appending from many threads at once; append() is called
// concurrently with distinct i.
class ConcurrentAppender {
 public:
  virtual ~ConcurrentAppender() = default;
  virtual void append(std::int64_t i) = 0;
  virtual void settle() {}
  virtual chat::sqlite::CommitStats commits() const { return {}; }
};

// The naive limit (../shared/bench/naive_server.cpp's shape): one shared
// connection behind a mutex, one transaction per row.
class RawLockedAppender final : public ConcurrentAppender {
 public:
  RawLockedAppender(const std::string& path, bool full) : raw_(path, true) {
    if (full) raw_.db().exec("PRAGMA synchronous=FULL");
  }
  void append(std::int64_t i) override {
    std::lock_guard lk(mu_);
    raw_.append(i);
  }

 private:
  std::mutex mu_;
  RawAppender raw_;
};

// Store::append_message (or ChatService::post_message) from many threads:
// into one conversation, or spread over `conversations`.
class ConcurrentStoreAppender final : public ConcurrentAppender {
 public:
  ConcurrentStoreAppender(const std::string& path, int max_group, int conversations, bool service,
                          chat::Durability durability)
      : path_(path) {
    chat::SqliteOptions o;
    o.path = path;
    o.durability = durability;
    o.max_group_writes = max_group;
    auto store = std::make_shared<chat::sqlite::SqliteStore>(o);
    if (auto opened = store->init(); !opened.ok()) die("open store: " + opened.error().message);
    sqlite_ = store.get();
    store_ = store;
    if (service) {
      chat::ServiceDeps deps;
      deps.store = store_;
      service_ = must(chat::make_chat_service(std::move(deps)), "make service");
    }
    for (int c = 0; c < conversations; ++c) {
      conversations_.push_back(
          service_ ? must(service_->create_conversation(who_, chat::NewConversation{}), "create conversation").id
                   : must(store_->create_conversation(chat::NewConversation{}, now()), "create conversation").id);
    }
  }
  ~ConcurrentStoreAppender() override {
    service_.reset();
    store_.reset();
    remove_db(path_);
  }
  void append(std::int64_t i) override {
    const std::int64_t conv = conversations_[static_cast<std::size_t>(i) % conversations_.size()];
    chat::NewMessage m;
    m.role = i % 2 ? chat::Role::kAssistant : chat::Role::kUser;
    m.content = "concurrent append " + std::to_string(i) + " hello w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 end";
    m.tokens_used = 12;
    if (service_) {
      must(service_->post_message(who_, chat::ConversationKey::of_id(conv), std::move(m)), "post");
    } else {
      must(store_->append_message(conv, m, now()), "append");
    }
  }
  void settle() override { must(store_->flush_search_index(), "flush index"); }
  chat::sqlite::CommitStats commits() const override { return sqlite_->commit_stats(); }

 private:
  std::string path_;
  chat::Principal who_ = chat::Principal::user("bench");
  std::shared_ptr<chat::Store> store_;
  chat::sqlite::SqliteStore* sqlite_ = nullptr;
  std::unique_ptr<chat::ChatService> service_;
  std::vector<std::int64_t> conversations_;
};

// `n` appends by `writers` threads at once, each timed from call to return.
Stats time_concurrent(ConcurrentAppender& line, std::int64_t first, std::int64_t n, int writers) {
  Stats st;
  std::vector<std::vector<double>> per(static_cast<std::size_t>(writers));
  std::atomic<std::int64_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      for (std::int64_t i = next++; i < n; i = next++) {
        const auto t0 = Clock::now();
        line.append(first + i);
        per[static_cast<std::size_t>(t)].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  line.settle();
  st.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& v : per) st.us.insert(st.us.end(), v.begin(), v.end());
  return st;
}

// Lines run interleaved in chunks, rotating, like (a).
std::vector<Stats> bench_concurrent(std::int64_t total, int writers, const std::vector<ConcurrentAppender*>& lines) {
  constexpr std::int64_t kChunk = 2000;
  std::vector<Stats> stats(lines.size());
  std::int64_t done = 0;
  for (std::size_t round = 0; done < total; ++round) {
    const std::int64_t n = std::min(kChunk, total - done);
    for (std::size_t k = 0; k < lines.size(); ++k) {
      const std::size_t which = (k + round) % lines.size();
      auto part = time_concurrent(*lines[which], done, n, writers);
      stats[which].us.insert(stats[which].us.end(), part.us.begin(), part.us.end());
      stats[which].wall_s += part.wall_s;
    }
    done += n;
  }
  return stats;
}

void print_group_row(const char* name, Stats& s, const ConcurrentAppender& line, Stats& base) {
  const auto c = line.commits();
  std::printf("  %-46s %10.0f ops/s   p50 %8.1f us   p99 %8.1f us   %5.2fx of base", name, s.ops_per_s(), s.pct(50),
              s.pct(99), s.ops_per_s() / std::max(base.ops_per_s(), 1e-9));
  if (c.groups > 0) std::printf("   %.1f writes/commit", static_cast<double>(c.jobs) / static_cast<double>(c.groups));
  std::printf("\n");
}


// A lone writer must not pay for the queue: Database::write() (a group of
// one: no savepoint) against what write() was before issue 11, the writer
// lock plus BEGIN IMMEDIATE/COMMIT (with_writer + Tx), same insert, same
// database, interleaved.
void bench_lone_writer(const Config& cfg) {
  const std::string path = cfg.dir + "/e-lone.db";
  chat::SqliteOptions o;
  o.path = path;
  chat::sqlite::Database db(o);
  if (auto opened = db.open(); !opened.ok()) die("open: " + opened.error().message);
  auto insert = [](chat::sqlite::Conn& w, std::int64_t i) {
    auto s = w.prepare_static("INSERT INTO bench_rows (i, v) VALUES (?, 'lone writer row')");
    s->bind(1, i);
    s->exec();
  };
  must(db.with_writer<std::int64_t>([](chat::sqlite::Conn& w) -> chat::Result<std::int64_t> {
    w.db().exec("CREATE TABLE bench_rows (i INTEGER, v TEXT)");
    return std::int64_t{0};
  }), "create table");
  Stats queued, direct;
  const std::int64_t n = cfg.appends;
  for (std::int64_t done = 0; done < n; done += 1000) {
    auto a = time_ops(1000, [&](std::int64_t i) {
      must(db.write<std::int64_t>([&](chat::sqlite::Conn& w) -> chat::Result<std::int64_t> {
        insert(w, done + i);
        return i;
      }), "write");
    });
    auto b = time_ops(1000, [&](std::int64_t i) {
      must(db.with_writer<std::int64_t>([&](chat::sqlite::Conn& w) -> chat::Result<std::int64_t> {
        chat::sqlite::Tx tx(w, "BEGIN IMMEDIATE");
        insert(w, done + i);
        tx.commit();
        return i;
      }), "with_writer");
    });
    queued.us.insert(queued.us.end(), a.us.begin(), a.us.end());
    queued.wall_s += a.wall_s;
    direct.us.insert(direct.us.end(), b.us.begin(), b.us.end());
    direct.wall_s += b.wall_s;
  }
  std::printf("\n(e) one writer alone, %lld one-row writes each way, WAL + synchronous=NORMAL\n",
              static_cast<long long>(n));
  print_row("writer lock + BEGIN IMMEDIATE/COMMIT (before)", direct);
  print_row("Database::write, group commit (after)", queued, "of before",
            queued.ops_per_s() / std::max(direct.ops_per_s(), 1e-9));
}

void bench_group_commit(const Config& cfg) {
  bench_lone_writer(cfg);
  const int w = cfg.writers;
  const auto d = cfg.dir;
  {
    std::printf("\n(e) %d threads appending at once, WAL + synchronous=NORMAL, %lld appends per line\n", w,
                static_cast<long long>(cfg.concurrent_appends));
    RawLockedAppender raw(d + "/e-raw.db", false);
    ConcurrentStoreAppender s1(d + "/e-s1.db", 1, 1, false, chat::Durability::kNormal);
    ConcurrentStoreAppender s64(d + "/e-s64.db", 64, 1, false, chat::Durability::kNormal);
    ConcurrentStoreAppender m1(d + "/e-m1.db", 1, 64, false, chat::Durability::kNormal);
    ConcurrentStoreAppender m64(d + "/e-m64.db", 64, 64, false, chat::Durability::kNormal);
    ConcurrentStoreAppender v1(d + "/e-v1.db", 1, 1, true, chat::Durability::kNormal);
    ConcurrentStoreAppender v64(d + "/e-v64.db", 64, 1, true, chat::Durability::kNormal);
    auto st = bench_concurrent(cfg.concurrent_appends, w, {&raw, &s1, &s64, &m1, &m64, &v1, &v64});
    print_row("raw insert behind a mutex, 1 tx/row [base]", st[0]);
    print_group_row("Store::append, 1 conv, group 1 (before)", st[1], s1, st[0]);
    print_group_row("Store::append, 1 conv, group 64 (after)", st[2], s64, st[0]);
    print_group_row("Store::append, 64 convs, group 1 (before)", st[3], m1, st[0]);
    print_group_row("Store::append, 64 convs, group 64 (after)", st[4], m64, st[0]);
    print_group_row("ChatService::post_message, group 1 (before)", st[5], v1, st[0]);
    print_group_row("ChatService::post_message, group 64 (after)", st[6], v64, st[0]);
  }
  if (cfg.full_appends > 0) {
    std::printf("\n(e) %d threads appending at once, WAL + synchronous=FULL (fsync per commit), %lld appends per line\n",
                w, static_cast<long long>(cfg.full_appends));
    RawLockedAppender raw(d + "/f-raw.db", true);
    ConcurrentStoreAppender s1(d + "/f-s1.db", 1, 1, false, chat::Durability::kFull);
    ConcurrentStoreAppender s64(d + "/f-s64.db", 64, 1, false, chat::Durability::kFull);
    auto st = bench_concurrent(cfg.full_appends, w, {&raw, &s1, &s64});
    print_row("raw insert behind a mutex, 1 tx/row [base]", st[0]);
    print_group_row("Store::append, 1 conv, group 1 (before)", st[1], s1, st[0]);
    print_group_row("Store::append, 1 conv, group 64 (after)", st[2], s64, st[0]);
  }
}

Config parse_args(int argc, char** argv) {
  Config cfg;
  const char* tmp = std::getenv("TMPDIR");
  cfg.dir = tmp && *tmp ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--rows")
      cfg.rows = std::stoll(value());
    else if (a == "--appends")
      cfg.appends = std::stoll(value());
    else if (a == "--reads")
      cfg.reads = std::stoll(value());
    else if (a == "--searches")
      cfg.searches = std::stoll(value());
    else if (a == "--dir")
      cfg.dir = value();
    else if (a == "--rank")
      cfg.rank = true;
    else if (a == "--replies")
      cfg.replies = std::stoll(value());
    else if (a == "reply-window" && i == 1)
      cfg.reply_window = true;
    else if (a == "tokens" && i == 1)
      cfg.tokens = true;
    else if (a == "--dashboard-rows")
      cfg.dashboard_rows = std::stoll(value());
    else if (a == "--dashboards")
      cfg.dashboards = std::stoll(value());
    else if (a == "--only")
      cfg.only = value();
    else if (a == "--writers")
      cfg.writers = std::max(1, std::stoi(value()));
    else if (a == "--concurrent-appends")
      cfg.concurrent_appends = std::stoll(value());
    else if (a == "--full-appends")
      cfg.full_appends = std::stoll(value());
    else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: chat_bench [--rows N] [--appends N] [--reads N] [--searches N] [--dir PATH] [--rank]\n"
          "                  [--dashboard-rows N] [--dashboards N] [--only LETTERS]\n"
          "                  [--writers N] [--concurrent-appends N] [--full-appends N]\n"
          "       chat_bench reply-window [--replies N] [--dir PATH]\n"
          "       chat_bench tokens\n");
      std::exit(0);
    } else {
      die("unknown argument " + a);
    }
  }
  std::string tmpl = cfg.dir + "/chat-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("cannot create a directory in " + cfg.dir);
  cfg.dir = tmpl;
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg = parse_args(argc, argv);
  std::printf("chat_bench: SQLite %s, files in %s\n", sqlite3_libversion(), cfg.dir.c_str());
  if (cfg.tokens) {
    bench_tokens(cfg);
    std::filesystem::remove_all(cfg.dir);
    return 0;
  }
  if (cfg.reply_window) {
    bench_reply_window(cfg);
    std::filesystem::remove_all(cfg.dir);
    return 0;
  }

  if (cfg.runs('a')) {
    std::printf("\n(a) append, one transaction per message, WAL + synchronous=NORMAL, %lld rows\n",
                static_cast<long long>(cfg.appends));
    RawAppender bare(cfg.dir + "/bench-raw-bare.db", false);
    RawAppender raw(cfg.dir + "/bench-raw.db", true);
    // The store checkpoints every 4000 WAL pages; the same raw insert with
    // that setting shows what the store's own work costs.
    RawAppender raw4k(cfg.dir + "/bench-raw-4k.db", true, 4000);
    StoreAppender store(cfg.dir + "/bench-store.db");
    ServiceAppender service(cfg.dir + "/bench-service.db");
    auto st = bench_appends(cfg, {&bare, &raw, &raw4k, &store, &service});
    print_row("raw insert, no secondary index", st[0]);
    print_row("raw insert, uuid + conversation indexes [base]", st[1]);
    print_row("same, wal_autocheckpoint=4000 [base-4k]", st[2]);
    print_row("Store::append_message + search indexing", st[3], "of base", st[3].ops_per_s() / st[1].ops_per_s());
    std::printf("  %-46s %52s %5.2fx of base-4k\n", "", "", st[3].ops_per_s() / st[2].ops_per_s());
    print_row("ChatService::post_message + search indexing", st[4], "of base",
              st[4].ops_per_s() / st[1].ops_per_s());
    std::printf("  %-46s %52s %5.2fx of base-4k\n", "", "", st[4].ops_per_s() / st[2].ops_per_s());
  }

  if (cfg.runs('b') || cfg.runs('c')) {
    std::printf("\n(b) latest 50 messages of one conversation, %lld messages in the store\n",
                static_cast<long long>(cfg.rows));
    const auto path = build_large_store(cfg);
    chat::SqliteOptions o;
    o.path = path;
    auto store = must(chat::open_sqlite_store(o), "open large store");
    const std::int64_t conv = kConversations / 2;
    // Warm both the same way: one pass each before timing.
    {
      Config warm = cfg;
      warm.reads = 50;
      bench_raw_latest50(warm, path, conv);
      bench_store_latest50(warm, *store, conv);
    }
    auto raw50 = bench_raw_latest50(cfg, path, conv);
    auto store50 = bench_store_latest50(cfg, *store, conv);
    print_row("raw indexed query [base]", raw50);
    print_row("Store::list_messages(newest_first, 50)", store50, "base time",
              store50.pct(50) / std::max(raw50.pct(50), 1e-9));

    std::printf("\n(c) search over %lld messages (limit 20)\n", static_cast<long long>(cfg.rows));
    for (const char* word : {"hello", "xylophone", "hello w1", "w2 w3 w5", "hello xylophone"}) {
      std::int64_t total = 0;
      // The first search of a word also counts its matches (bm25's document
      // frequency, then cached): shown apart from the steady figures.
      Config once = cfg;
      once.searches = 1;
      auto cold = bench_store_search(once, *store, word, &total);
      auto raw_recent = bench_raw_fts(cfg, path, word, "rowid DESC", cfg.searches);
      auto s = bench_store_search(cfg, *store, word, &total);
      std::string label = std::string("raw FTS5 '") + word + "' ORDER BY rowid DESC";
      print_row(label.c_str(), raw_recent);
      label = std::string("Store::search_messages '") + word + "' (total " + std::to_string(total) + ")";
      print_row(label.c_str(), s);
      std::printf("  %-46s first search of the word %.1f us\n", "", cold.pct(50));
      if (cfg.rank) {
        auto ranked = bench_raw_fts(cfg, path, word, "rank", 3);
        label = std::string("raw FTS5 '") + word + "' ORDER BY rank (all matches)";
        print_row(label.c_str(), ranked);
      }
    }
    // Each owner holds 20 of the 1000 conversations (2% of the rows). Every
    // message of an odd conversation id has "hello", of an even one none:
    // "user8" and conversation 501 are all "hello", "user7" has none (the
    // worst case: a common word, no match in scope).
    std::printf("\n(c) scoped searches over %lld messages (limit 20)\n", static_cast<long long>(cfg.rows));
    for (const SearchScope& scope : {SearchScope{"user8", std::string("user8"), std::nullopt},
                                     SearchScope{"user7", std::string("user7"), std::nullopt},
                                     SearchScope{"conversation 501", std::nullopt, std::int64_t{501}}}) {
      for (const char* word : {"hello", "xylophone", "hello w1"}) {
        std::int64_t total = 0;
        Config once = cfg;
        once.searches = 1;
        auto cold = bench_store_search(once, *store, word, &total, scope);
        auto s = bench_store_search(cfg, *store, word, &total, scope);
        const std::string label = std::string("'") + word + "' in " + scope.name + " (total " +
                                  std::to_string(total) + ")";
        print_row(label.c_str(), s);
        std::printf("  %-46s first search of the word %.1f us\n", "", cold.pct(50));
      }
    }
    store.reset();
    remove_db(path);
  }
  if (cfg.runs('d')) {
    std::printf("\n(d) seed 003 dashboard (30 days) of one user with %lld messages\n",
                static_cast<long long>(cfg.dashboard_rows));
    bench_dashboard(cfg);
  }
  if (cfg.runs('e')) bench_group_commit(cfg);
  std::filesystem::remove_all(cfg.dir);
  return 0;
}
