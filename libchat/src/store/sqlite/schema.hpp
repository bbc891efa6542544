// The SQLite schema of libchat, as forward-only migrations. Private.
#pragma once

#include <vector>

namespace chat::detail {

struct SqliteMigration {
  int version;      // PRAGMA user_version after this step
  const char* sql;  // applied in one transaction together with the version bump
};

// Every migration the code knows, oldest first, versions 1..N without gaps.
// Never edit a released step: append a new one.
const std::vector<SqliteMigration>& sqlite_migrations();

}  // namespace chat::detail
