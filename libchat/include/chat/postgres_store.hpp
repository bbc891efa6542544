// chat/postgres_store.hpp: the PostgreSQL implementation of chat::Store
// (issue 13: several chatd processes on one database).
//
//   chat::PostgresOptions o;
//   o.conninfo = "postgresql://chat@db.internal:5432/chat";
//   auto store = chat::open_postgres_store(o);  // Result<std::unique_ptr<Store>>
//
// Opening connects, then migrates the schema forward in one transaction
// under a transaction-scoped advisory lock, so that several processes
// starting at once against a fresh database migrate it once
// (chat_schema_version counts the steps); a schema newer than this libchat is
// refused, never touched. The database must exist; the role needs CREATE on
// its public schema for the first open.
//
// Guarantees are those of chat/store.hpp, as for the SQLite store: an
// acknowledged write is committed; uniqueness (uuid, handle, a live
// client_id per conversation) is decided by unique constraints, so two
// processes racing for one client_id create one message. Message and event
// ids are cursors: within one conversation they are handed out in commit
// order (every write to a conversation locks its row first), which is all a
// per-conversation cursor (list_messages after_id, list_events) needs. Across
// conversations ids are unique and growing but not in commit order.
//
// Differences from the SQLite store, by design:
// - search_messages indexes in the write's transaction (flush_search_index
//   returns 0). Ranking is ts_rank (normalised by document length) over the
//   newest 1000 in-scope matches, then newest first; matching (every word,
//   case folded by chat::fold_case, combining marks stripped, words split as
//   SQLite's unicode61 tokenizer splits them) is the same as SQLite's.
// - activity, activity_totals and activity_summary are computed by SQL
//   aggregates at read time: O(rows in scope) per call, in memory bounded
//   by the number of days (the SQLite store keeps sums on write).
// - set_change_listener receives the changes other Store objects on the same
//   database commit (LISTEN/NOTIFY on a dedicated connection and thread,
//   started by the first listener), and publish_ephemeral reaches them.
//
// Thread safety: the returned Store is safe to use from many threads at
// once. Each call takes a connection from a pool of `connections`; writes of
// one conversation serialise on its row lock, other writes run in parallel.
// A write that loses a serialization or deadlock race is retried (up to 5
// times). Destroying the store stops the listener thread and closes every
// connection; no call may be running.
//
// Failure: the factory never throws. The store's own errors are those of
// chat/store.hpp. A pooled connection found lost (server restart, terminated
// backend) is replaced and the call run again on a fresh one, unless the
// loss came during COMMIT (outcome unknown: kUnavailable); a server that
// cannot be reached is kUnavailable on every call until it is back.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"

namespace chat {

struct PostgresOptions {
  // libpq connection string: a URI "postgresql://user@host:port/db" or
  // "key=value" pairs. The password comes from PGPASSWORD or a PGPASSFILE
  // (libpq reads them); chatd never puts one here.
  std::string conninfo;
  int connections = 8;  // pooled connections (values below 1 count as 1); the listener has its own
  std::chrono::milliseconds connect_timeout{5000};  // per connection attempt
  std::chrono::milliseconds acquire_timeout{5000};  // waiting for a free pooled connection, then kUnavailable
  std::shared_ptr<Logger> logger;                   // null: no logging
};

// Connects to the database of `options.conninfo` and migrates it.
// Errors:
//   kInvalidArgument  "conninfo": empty or not parsable by libpq
//   kUnavailable      the server cannot be reached or refuses the login
//                     (the message never holds a password)
//   kInternal         the schema is newer than this libchat (the message says
//                     "newer"), or the database has a table named as one of
//                     libchat's but no chat_schema_version (not a libchat
//                     database)
Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options);

}  // namespace chat
