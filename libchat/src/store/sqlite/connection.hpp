// One SQLite connection and its statements: the statement caches (literal
// SQL by address, SQL built from filters by text), the handle that resets a
// statement when its user is done, and transactions through cached
// BEGIN/COMMIT. Private to libchat. A Conn is used by one thread at a time
// (Database hands it out); nothing here locks.
//
// A statement is reset as soon as its user is done with it so that a reader
// never keeps a stale snapshot open.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "store/sqlite/text_functions.hpp"

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
      : db_(path, flags, busy_ms), dynamic_(dynamic_capacity) {
    register_text_functions(db_);  // chat_fold: SQL compares text by chat/text.hpp's rules
  }

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

}  // namespace chat::sqlite
