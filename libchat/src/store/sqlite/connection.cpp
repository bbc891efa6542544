#include "store/sqlite/connection.hpp"

namespace chat::sqlite {

// ---- statement cache ----------------------------------------------------------

Stmt StatementCache::get(SQLite::Database& db, const std::string& sql) {
  auto it = index_.find(sql);
  if (it != index_.end()) {
    auto entry = it->second;
    if (entry->second.use_count() > 1) {
      // In use by a caller up the stack: stepping it here would reset theirs.
      auto fresh = std::make_shared<SQLite::Statement>(db, sql);
      return Stmt(*fresh, fresh);
    }
    lru_.splice(lru_.begin(), lru_, entry);
    return Stmt(*entry->second, entry->second);
  }
  // Prepared before anything is evicted: SQL that fails to prepare leaves the
  // cache as it was.
  auto stmt = std::make_shared<SQLite::Statement>(db, sql);
  evict_idle();
  lru_.emplace_front(sql, stmt);
  index_.emplace(lru_.front().first, lru_.begin());
  return Stmt(*stmt, stmt);
}

// Makes room for one entry by dropping the least recently used idle ones.
void StatementCache::evict_idle() {
  auto it = lru_.end();
  while (lru_.size() >= capacity_ && it != lru_.begin()) {
    --it;
    if (it->second.use_count() > 1) continue;  // held by a Stmt: never evicted
    index_.erase(it->first);
    it = lru_.erase(it);
  }
}

// ---- transactions -----------------------------------------------------------

Tx::~Tx() {
  if (!done_) {
    try {
      c_.run("ROLLBACK");
    } catch (...) {  // NOLINT: a failed rollback leaves nothing better to do
    }
  }
}

}  // namespace chat::sqlite
