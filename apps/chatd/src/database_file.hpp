// database_file.hpp: whether chatd may open an existing database file.
//
// The database holds every conversation, and SQLite replays whatever a
// `-wal` file beside it holds, so a file planted by another local user (or
// made writable to others) lets its author read chats or write rows as the
// server: issue 9, "planted DB file owned by another user accepted". Before
// the store opens `--db`, chatd checks the file and its companions
// (`-wal`, `-shm`, `.lock`), each one that exists:
// - refused (kPermissionDenied, the message names the file, the reason and
//   the fix) when it is not a regular file (a symbolic link is followed: a
//   database on another disk is common, and its target is what is checked),
//   is not owned by the server's effective user, or is writable by group or
//   others;
// - accepted with a warning when group or others can read it (databases
//   made before chatd created them 0600).
// A path that does not exist is fine: the store creates it 0600. ":memory:"
// is always fine.
//
// Reads file metadata only; thread-safe; never throws.
#pragma once

#include <string>
#include <vector>

#include "chat/result.hpp"

namespace chatd {

// Warnings for accepted files (one line each), or the first refusal.
chat::Result<std::vector<std::string>> check_database_file(const std::string& db);

}  // namespace chatd
