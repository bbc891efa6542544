// The SQLite schema of libchat, as forward-only migrations, and the step
// that brings a database up to date. Private.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace chat::detail {

struct SqliteMigration {
  int version;      // PRAGMA user_version after this step
  const char* sql;  // applied in one transaction together with the version bump
  // Run after `sql` in the same transaction, for what SQL alone cannot make
  // safe to run twice (ALTER TABLE ADD COLUMN has no IF NOT EXISTS; tests set
  // user_version back and reopen). nullptr: none.
  void (*apply)(SQLite::Database& db) = nullptr;
};

// Every migration the code knows, oldest first, versions 1..N without gaps.
// Never edit a released step: append a new one.
const std::vector<SqliteMigration>& sqlite_migrations();

// Applies every step above the database's user_version, each in its own
// transaction. kInternal: the version is newer than the code knows (the
// message says "newer"), or the file holds tables but no libchat version (a
// SQLite database of another application). Throws SQLite::Exception on a
// storage failure (the caller maps it).
Status migrate_sqlite_schema(SQLite::Database& db, const std::function<void(LogLevel, const std::string&)>& log);

}  // namespace chat::detail
