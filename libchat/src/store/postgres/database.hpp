// The connections of one PostgreSQL database and the ways to run work on
// them: the pool, the read / write / guarded wrappers with the write retry,
// and the mapping of libpq failures to domain errors. Private to libchat.
//
// Pool: `connections` connections, opened lazily up to that number; a call
// waits up to acquire_timeout for a free one, then answers kUnavailable. A
// connection found broken (PQstatus not OK) when it is returned is closed;
// the next call that needs one opens a fresh one.
//
// Writes run in READ COMMITTED with explicit row locks (see "Cursors" below);
// a write whose transaction fails with 40001 (serialization_failure) or 40P01
// (deadlock_detected) is run again, up to kWriteAttempts times, after a short
// jittered sleep. So a write's body must be safe to run again: it keeps no
// state across attempts but what it returns.
//
// Cursors (message and event ids; issue 13). Ids come from sequences, and a
// sequence alone does not give visibility order: transaction A draws 10, B
// draws 11, B commits first, and a poller reading `id > 9` sees 11, moves its
// cursor to 11, and never sees 10. The rule here: every write that appends a
// message or an event of conversation C first locks C's row (lock_conversation
// or an UPDATE of that row, before any id is drawn). Appends to one
// conversation are thereby serialised from id draw to commit, so within one
// conversation ids become visible in id order, which is what every cursor of
// the contract is (list_messages after_id, list_events of a conversation).
// The store-wide heads (last_message_id, last_event_id) are the largest ids
// committed (MAX(id), and what purges removed: id_marks; a rolled-back
// transaction's ids never count, as with SQLite's AUTOINCREMENT). They are
// made safe by a barrier: every write also holds a shared
// transaction-level advisory lock (kIdBarrierLock) from its start, and
// reading a head takes it exclusively for a moment, so every id at or below
// the head it returns is committed or gone: a watcher starting at the head
// misses nothing still in flight.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/logger.hpp"
#include "chat/postgres_store.hpp"
#include "chat/result.hpp"
#include "store/postgres/connection.hpp"

namespace chat::pg {

inline constexpr int kWriteAttempts = 5;
// pg_advisory_xact_lock keys (fixed; "chat" in ASCII in the high bytes).
inline constexpr std::int64_t kMigrationLock = 0x63686174'00000001;
inline constexpr std::int64_t kIdBarrierLock = 0x63686174'00000002;

// Every write: READ COMMITTED, and the id barrier taken shared before any
// row lock (so a head reader never sits in a lock cycle with writers).
inline constexpr const char* kBeginWrite =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock_shared(7163082358176874498)";
static_assert(kIdBarrierLock == 7163082358176874498);

// The largest message / event id ever committed (0 when none).
inline constexpr const char* kMessageHeadSql =
    "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM messages), 0), "
    "(SELECT purged_message_id FROM id_marks WHERE id = 1))";
inline constexpr const char* kEventHeadSql =
    "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM events), 0), "
    "(SELECT purged_event_id FROM id_marks WHERE id = 1), (SELECT trim_floor FROM event_log_state WHERE id = 1))";

class Database {
 public:
  explicit Database(const PostgresOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens the first connection and migrates the schema. Errors: see
  // open_postgres_store.
  Status open();

  const PostgresOptions& options() const { return options_; }
  const std::string& instance_id() const { return instance_id_; }
  void log(LogLevel level, const std::string& message) const;
  // A connection outside the pool (the listener's); throws PgFailure.
  std::unique_ptr<Conn> connect() const;

  // Runs `f` and turns a PgFailure into its domain error (map_error), any
  // other exception into kInternal.
  template <typename T, typename F>
  Result<T> guarded(F&& f) {
    try {
      return f();
    } catch (const PgFailure& e) {
      return map_error(e);
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("postgres store: ") + e.what());
      return Error::internal("storage failure");
    }
  }

  // Runs `f(Conn&)` in a READ COMMITTED transaction; commits only when `f`
  // succeeds. Retried as the header says, and once more when the connection
  // turns out lost before COMMIT was sent (a pooled connection whose server
  // restarted or whose backend was terminated: the transaction died with it,
  // nothing was written). A loss during COMMIT is kUnavailable: the outcome
  // is unknown, and a retry could write twice.
  template <typename T, typename F>
  Result<T> write(F&& f) {
    bool reconnected = false;
    for (int attempt = 1;; ++attempt) {
      bool retry = false;
      bool lost = false;
      Result<T> r = guarded<T>([&]() -> Result<T> {
        Lease lease(*this);
        if (!lease) return Error::unavailable("no database connection is free");
        Conn& c = lease.conn();
        bool committing = false;
        try {
          c.run(kBeginWrite);
          Result<T> out = f(c);
          committing = out.ok();
          c.run(out.ok() ? "COMMIT" : "ROLLBACK");
          return out;
        } catch (const PgFailure& e) {
          rollback_quietly(c);
          if (!reconnected && !committing && !c.ok()) {
            lost = true;
            return Error::unavailable("retry");
          }
          if (attempt < kWriteAttempts && retryable(e)) {
            retry = true;
            return Error::unavailable("retry");
          }
          throw;
        } catch (...) {
          rollback_quietly(c);
          throw;
        }
      });
      if (lost) {
        reconnected = true;
        continue;
      }
      if (!retry) return r;
      backoff(attempt);
    }
  }

  // Runs `f(Conn&)` in one read-only snapshot (REPEATABLE READ), or as plain
  // statements when `snapshot` is false (a single statement is its own).
  // Run once more on a fresh connection when the pooled one turns out lost.
  template <typename T, typename F>
  Result<T> read(F&& f, bool snapshot = true) {
    for (int attempt = 1;; ++attempt) {
      bool lost = false;
      Result<T> r = guarded<T>([&]() -> Result<T> {
        Lease lease(*this);
        if (!lease) return Error::unavailable("no database connection is free");
        Conn& c = lease.conn();
        try {
          if (!snapshot) return f(c);
          c.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          Result<T> out = f(c);
          c.run("COMMIT");
          return out;
        } catch (const PgFailure&) {
          rollback_quietly(c);
          if (attempt == 1 && !c.ok()) {
            lost = true;
            return Error::unavailable("retry");
          }
          throw;
        } catch (...) {
          rollback_quietly(c);
          throw;
        }
      });
      if (!lost) return r;
    }
  }

  // read() for the analytics: at most half of the pool (at least one) runs
  // them at once, so quick reads always find a connection.
  template <typename T, typename F>
  Result<T> read_heavy(F&& f) {
    HeavyLease heavy(*this);
    return read<T>(std::forward<F>(f));
  }

  // A store-wide head (`sql` returns one number: kMessageHeadSql,
  // kEventHeadSql), read behind the id barrier: every id at or below it is
  // committed or rolled back.
  Result<std::int64_t> head_id(const char* sql);

  // Runs `f(Conn&)` on a pooled connection with no transaction (autocommit).
  template <typename T, typename F>
  Result<T> with_conn(F&& f) {
    return read<T>(std::forward<F>(f), false);
  }

 private:
  class Lease {
   public:
    explicit Lease(Database& db) : db_(db), c_(db.acquire()) {}
    ~Lease() {
      if (c_ != nullptr) db_.release(c_);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    explicit operator bool() const { return c_ != nullptr; }
    Conn& conn() { return *c_; }

   private:
    Database& db_;
    Conn* c_;
  };
  class HeavyLease {
   public:
    explicit HeavyLease(Database& db) : db_(db) { db.acquire_heavy(); }
    ~HeavyLease() { db_.release_heavy(); }
    HeavyLease(const HeavyLease&) = delete;
    HeavyLease& operator=(const HeavyLease&) = delete;

   private:
    Database& db_;
  };

  static bool retryable(const PgFailure& e);
  static void rollback_quietly(Conn& c);
  static void backoff(int attempt);
  Error map_error(const PgFailure& e) const;
  // nullptr after acquire_timeout; throws PgFailure when a new connection fails.
  Conn* acquire();
  void release(Conn* c);
  void acquire_heavy();
  void release_heavy();

  PostgresOptions options_;
  std::string instance_id_;
  int capacity_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> all_;
  std::vector<Conn*> free_;
  int opening_ = 0;  // connections being opened outside mu_

  std::mutex heavy_mu_;
  std::condition_variable heavy_cv_;
  int heavy_running_ = 0;
};

}  // namespace chat::pg
