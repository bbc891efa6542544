// chat/sqlite_store.hpp: the SQLite implementation of chat::Store.
//
//   chat::SqliteOptions o;
//   o.path = "/var/lib/chatd/chat.db";
//   auto store = chat::open_sqlite_store(o);  // Result<std::unique_ptr<Store>>
//
// One database file holds everything (plus "<path>-wal" and "<path>-shm" in
// WAL mode). Opening creates the file when it does not exist (mode 0600, and
// so are "-wal", "-shm" and ".lock": chats are private; an existing file
// keeps its mode) and migrates an
// older libchat schema forward (PRAGMA user_version counts the steps); a
// schema newer than this libchat is refused, never touched.
//
// Exclusivity: while a store is open, the process holds an exclusive flock on
// "<path>.lock"; a second opener of the same path, in this process or
// another (two daemons on one file), gets kUnavailable until it is closed.
//
// Durability: see Durability. The database is always in WAL mode, so readers
// never block the writer nor each other. A write is acknowledged (its call
// returns success) only after the transaction holding it committed, and with
// the durability of Durability.
//
// Group commit (issue 11): writes from concurrent threads are committed
// together: the first caller to find no commit running runs the writes
// queued meanwhile (at most `max_group_writes`) in one transaction, each in
// a savepoint of its own, then one COMMIT. A write that fails (its own
// error: a refused precondition, a conflict, a missing row) fails alone and
// leaves nothing behind; the others commit. If the transaction itself fails
// (the COMMIT, or SQLite abandoning it on a full disk or an I/O error),
// every write of that group fails with that error (kUnavailable or
// kInternal) and none of them is kept. A lone writer does not wait for
// company. Durability per write is unchanged; only the number of commits
// (and their fsyncs under kFull) shrinks.
//
// Thread safety: the returned Store is safe to use from many threads at once.
// Writes are serialised on one writer connection (concurrent ones grouped
// into shared transactions, see above); reads run concurrently on
// `reader_connections` pooled connections (a ":memory:" store has only its
// writer connection, so its reads are serialised too). Destroying the store
// waits for its background search indexer to stop; no call may be running.
//
// Failure: the factories never throw. The store's own errors are those of
// chat/store.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"

namespace chat {

enum class Durability {
  kNormal,  // WAL + synchronous=NORMAL: an acknowledged write survives a process crash, not a power loss
  kFull,    // WAL + synchronous=FULL: survives power loss too, several times slower per transaction
};

struct SqliteOptions {
  std::string path = "chat.db";  // ":memory:" for a private in-memory database
  Durability durability = Durability::kNormal;
  int reader_connections = 4;    // concurrent readers (ignored for :memory:); values below 1 count as 1
  std::chrono::milliseconds busy_timeout{5000};  // how long a statement waits on another process's lock
  std::int64_t cache_size_kib = 65536;  // page cache of the writer, in KiB (at least 256); readers share it
                                        // out (cache_size_kib / reader_connections each, at least 256)
  // Pending (not yet indexed) messages that make the background indexer run;
  // searches catch the index up themselves either way. Values <= 0 mean 512.
  std::int64_t index_batch = 512;
  // Group commit (issue 11): at most this many concurrent writes share one
  // transaction (values below 1 count as 1; 1 gives every write a
  // transaction of its own, as before issue 11). Larger groups amortise
  // more per commit; the bound caps what the last write of a group waits
  // (about 30 us per append on a warm cache) and what one failed COMMIT fails.
  int max_group_writes = 64;
  std::shared_ptr<Logger> logger;  // null: no logging
};

// Opens (creating if needed) and migrates a SQLite database.
// Errors:
//   kInvalidArgument  `path` is empty (field "path")
//   kUnavailable      the file or its directory cannot be opened, the file is
//                     read-only, or another store holds it open (the message
//                     is then "database is in use by another process")
//   kInternal         the file is not a SQLite database, is a SQLite database
//                     of another application, or has a schema newer than this
//                     libchat (the message says "newer"), or it cannot use WAL
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

// A private in-memory SQLite store (tests, embedding without a file). Its
// data is gone when it is destroyed. Errors: kInternal only (out of memory).
Result<std::unique_ptr<Store>> open_memory_store();

}  // namespace chat
