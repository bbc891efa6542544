// The SQLite plumbing every part of the SQLite store shares: connections,
// cached statements, transactions, the writer lock and the reader pool, and
// the mapping of SQLite exceptions to domain errors. Private to libchat; the
// only file of the store besides rows.hpp that speaks SQLiteCpp's types.
//
// Connections: one writer connection behind a mutex (SQLite has one writer at
// a time anyway; serialising in-process avoids busy-waiting in SQLite's busy
// handler), and a pool of reader connections that read concurrently in WAL
// mode. A ":memory:" database is private to its connection, so the memory
// store uses the writer connection for everything.
//
// Every connection caches its prepared statements (literal SQL by address,
// SQL built from filters by text); a statement is reset as soon as its user
// is done with it so that a reader never keeps a stale snapshot open. Reads
// run in one read transaction (one snapshot: a page and its total agree).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/sqlite_store.hpp"

namespace chat::sqlite {

// Dynamic (filter-built) statements a connection keeps prepared. Their variety
// is bounded by the filter combinations, but a caller may find many.
inline constexpr std::size_t kMaxCachedStatements = 512;

// A statement in use. Resetting it on release ends the implicit read
// transaction it may hold, so readers see new commits and WAL checkpoints are
// never held back by an idle connection. `owner` keeps a statement alive that
// its cache dropped meanwhile (see StatementCache).
class Stmt {
 public:
  explicit Stmt(SQLite::Statement& s, std::shared_ptr<SQLite::Statement> owner = {})
      : s_(&s), owner_(std::move(owner)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { s_->tryReset(); }

  SQLite::Statement* operator->() const { return s_; }
  SQLite::Statement& operator*() const { return *s_; }

 private:
  SQLite::Statement* s_;
  std::shared_ptr<SQLite::Statement> owner_;
};

// The cache of SQL built at run time, keyed by text, least recently used
// evicted first. It never evicts a statement that is in use: a Stmt shares
// ownership of its statement, and only entries nobody else holds are dropped
// (when every entry is in use, the cache grows past its capacity until some
// are released). A statement asked for while already in use (the same SQL
// twice at once) is prepared afresh and not cached, so two users never step
// one statement.
class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  Stmt get(SQLite::Database& db, const std::string& sql);
  std::size_t size() const { return lru_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<SQLite::Statement>>;
  void evict_idle();

  std::size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_'s strings
};

class Conn {
 public:
  Conn(const std::string& path, int flags, int busy_ms, std::size_t dynamic_capacity = kMaxCachedStatements)
      : db_(path, flags, busy_ms), dynamic_(dynamic_capacity) {}

  SQLite::Database& db() { return db_; }

  // For SQL built at run time (listing filters): cached by text, bounded.
  Stmt prepare(const std::string& sql) { return dynamic_.get(db_, sql); }

  // For string literals only: cached by address, which spares hashing a few
  // hundred bytes of SQL on every call of a hot path. Their number is fixed by
  // the code, so this cache needs no bound.
  Stmt prepare_static(const char* literal) {
    auto it = static_.find(literal);
    if (it == static_.end()) it = static_.emplace(literal, std::make_unique<SQLite::Statement>(db_, literal)).first;
    return Stmt(*it->second);
  }

  // Runs a literal statement that returns no rows.
  void run(const char* literal) {
    auto s = prepare_static(literal);
    s->exec();
  }

  std::size_t cached_dynamic() const { return dynamic_.size(); }

 private:
  SQLite::Database db_;  // first: closed after every statement below is finalized
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> static_;
  StatementCache dynamic_;
};

// BEGIN/COMMIT through cached statements (SQLite::Transaction re-parses them
// on every use, which shows on the append path); rolls back unless committed.
class Tx {
 public:
  explicit Tx(Conn& c, const char* begin = "BEGIN") : c_(c) { c_.run(begin); }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx();
  void commit() {
    c_.run("COMMIT");
    done_ = true;
  }

 private:
  Conn& c_;
  bool done_ = false;
};

// How much of a read must see one snapshot: several statements need a read
// transaction; a single statement is its own snapshot, and skipping
// BEGIN/COMMIT matters on the lookups every post makes.
enum class Snapshot { kTransaction, kStatement };

// The connections of one database file and the ways to run work on them.
// Every wrapper catches everything: no exception leaves the store.
class Database {
 public:
  explicit Database(const SqliteOptions& options);
  ~Database();  // closes every connection, then releases the lock file
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Takes the lock file, opens the writer with the durability pragmas,
  // migrates the schema, then opens the reader pool. Errors: see
  // open_sqlite_store.
  Status open();

  const SqliteOptions& options() const { return options_; }
  void log(LogLevel level, const std::string& message) const;

  // Runs `f` and turns a SQLite exception into its domain error (map_error),
  // any other exception into kInternal.
  template <typename T, typename F>
  Result<T> guarded(F&& f) {
    try {
      return f();
    } catch (const SQLite::Exception& e) {
      return map_error(e);
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("sqlite store: ") + e.what());
      return Error::internal("storage failure");
    }
  }

  // Runs `f(Conn&)` in a write transaction on the writer connection; commits
  // only when `f` succeeds, so an error leaves nothing written.
  template <typename T, typename F>
  Result<T> write(F&& f) {
    return guarded<T>([&]() -> Result<T> {
      std::lock_guard lk(writer_mu_);
      Tx tx(*writer_, "BEGIN IMMEDIATE");
      Result<T> r = f(*writer_);
      if (r.ok()) tx.commit();
      return r;
    });
  }

  // Runs `f(Conn&)` holding the writer, with no transaction: `f` makes its
  // own and may act after its commit while appends are still held off.
  template <typename T, typename F>
  Result<T> with_writer(F&& f) {
    return guarded<T>([&]() -> Result<T> {
      std::lock_guard lk(writer_mu_);
      return f(*writer_);
    });
  }

  // Runs `f(Conn&)` on a pooled reader (the writer for ":memory:"), in one
  // read transaction unless `snapshot` says `f` runs a single statement.
  template <typename T, typename F>
  Result<T> read(F&& f, Snapshot snapshot = Snapshot::kTransaction) {
    return guarded<T>([&]() -> Result<T> {
      if (memory_) {
        std::lock_guard lk(writer_mu_);
        return in_snapshot<T>(*writer_, f, snapshot);
      }
      ReaderLease lease(*this);
      return in_snapshot<T>(lease.conn(), f, snapshot);
    });
  }

 private:
  class ReaderLease {
   public:
    explicit ReaderLease(Database& db) : db_(db), c_(db.acquire_reader()) {}
    ~ReaderLease() { db_.release_reader(c_); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    Conn& conn() { return *c_; }

   private:
    Database& db_;
    Conn* c_;
  };

  template <typename T, typename F>
  static Result<T> in_snapshot(Conn& c, F& f, Snapshot snapshot) {
    if (snapshot == Snapshot::kStatement) return f(c);
    Tx tx(c);
    Result<T> r = f(c);
    tx.commit();
    return r;
  }

  Error map_error(const SQLite::Exception& e) const;
  Status lock_file();
  Status open_connections();
  Conn* acquire_reader();
  void release_reader(Conn* c);

  SqliteOptions options_;
  const bool memory_;
  int lock_fd_ = -1;

  std::mutex writer_mu_;
  std::unique_ptr<Conn> writer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  std::vector<Conn*> free_readers_;
};

}  // namespace chat::sqlite
