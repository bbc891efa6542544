// The PostgreSQL schema and its migrations: versioned, forward-only steps
// (SQL in this source), counted in chat_schema_version. Private to libchat.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "store/postgres/connection.hpp"

namespace chat::pg {

struct PostgresMigration {
  int version = 0;
  const char* sql = "";
};

// Every step, in order.
const std::vector<PostgresMigration>& postgres_migrations();

// Brings the database up to the newest step in ONE transaction under
// pg_advisory_xact_lock(kMigrationLock): processes opening a fresh database
// at once queue on the lock and the later ones find it migrated. kInternal:
// the schema is newer than this libchat, or the database has libchat's table
// names without chat_schema_version. Throws PgFailure on a database error.
Status migrate_postgres_schema(Conn& c, const std::function<void(LogLevel, const std::string&)>& log);

}  // namespace chat::pg
