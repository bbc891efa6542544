// The connections of one SQLite database and the ways to run work on them:
// the writer lock and the reader pool, the read / write / guarded wrappers,
// the mapping of SQLite exceptions to domain errors, and the lock file.
// Private to libchat.
//
// Connections: one writer connection behind a mutex (SQLite has one writer at
// a time anyway; serialising in-process avoids busy-waiting in SQLite's busy
// handler), and a pool of reader connections that read concurrently in WAL
// mode. A ":memory:" database is private to its connection, so the memory
// store uses the writer connection for everything.
//
// Writes: write() is group commit (issue 11, commit_queue.hpp). Concurrent
// writes queue; the first to find no leader takes the writer lock and runs
// the queued ones in one BEGIN IMMEDIATE ... COMMIT, each inside its own
// SAVEPOINT, and answers them only after the COMMIT returned. Acknowledged
// still means committed, with the durability of the pragmas below (WAL +
// synchronous NORMAL or FULL); a failing write fails alone; a failed COMMIT
// fails its whole group. with_writer() bypasses the queue for callers that
// run their own transactions (the search indexer) and excludes any group.
// The ":memory:" store is the same: its reads take the writer lock too.
//
// Every connection caches its prepared statements (connection.hpp). Reads
// run in one read transaction (one snapshot: a page and its total agree).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/sqlite_store.hpp"
#include "store/sqlite/commit_queue.hpp"
#include "store/sqlite/connection.hpp"

namespace chat::sqlite {

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

  // Runs `f(Conn&)` in a write transaction on the writer connection and
  // returns its Result once that is final: an ok Result only after the
  // transaction committed, an error leaving nothing of `f` written.
  //
  // Group commit (issue 11, commit_queue.hpp): concurrent calls share one
  // transaction, `f` running inside its own SAVEPOINT. An error Result or an
  // exception from `f` rolls back `f` alone; the others of its group commit.
  // A COMMIT that fails, or a transaction SQLite rolled back by itself
  // (SQLITE_FULL, IOERR, BUSY, NOMEM), fails every call of the group with
  // that error. So `f` may run in a transaction with other calls' changes,
  // must not BEGIN/COMMIT itself (with_writer() is for that), and must not
  // change state outside the database that assumes its commit: it registers
  // such effects with on_commit(). A lone caller does not wait for company.
  template <typename T, typename F>
  Result<T> write(F&& f) {
    std::optional<Result<T>> result;  // Result<T> need not be default-constructible
    auto run = [&](Conn& w) -> const Error* {
      result.emplace(f(w));
      return result->ok() ? nullptr : &result->error();
    };
    auto fail = [&](Error e) { result.emplace(std::move(e)); };
    WriteJob job(run, fail);
    commits_.submit(job, *writer_);
    if (!result) return Error::internal("storage failure");  // only if the leader ran out of memory
    return std::move(*result);
  }

  // Inside write()'s `f` only: runs `hook` after `f`'s transaction
  // committed, under the writer lock and before any caller of the group is
  // answered; dropped when `f` is rolled back, alone or with its group.
  // `hook` should not throw (an exception is logged and ignored).
  void on_commit(std::function<void()> hook) { commits_.on_commit(std::move(hook)); }

  // Writes waiting for a leader, and how many groups carried how many
  // writes so far (tests, benchmarks).
  std::size_t queued_writes() const { return commits_.queued(); }
  CommitStats commit_stats() const { return commits_.stats(); }

  // Runs `f(Conn&)` holding the writer, with no transaction: `f` makes its
  // own and may act after its commit while appends are still held off. It
  // excludes write() groups (their leader holds the same lock).
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

  // read() for the analytics reads, which may scan many rows: at most
  // heavy_limit() of them hold a reader at once, so the rest of the pool
  // stays free for the quick reads every request makes (issue 11: eight
  // dashboards once made an unrelated read wait 17 s for a connection).
  template <typename T, typename F>
  Result<T> read_heavy(F&& f, Snapshot snapshot = Snapshot::kTransaction) {
    HeavyLease heavy(*this);
    return read<T>(std::forward<F>(f), snapshot);
  }
  int heavy_limit() const;

 private:
  class HeavyLease {
   public:
    explicit HeavyLease(Database& db) : db_(db) { db.acquire_heavy(); }
    ~HeavyLease() { db_.release_heavy(); }
    HeavyLease(const HeavyLease&) = delete;
    HeavyLease& operator=(const HeavyLease&) = delete;

   private:
    Database& db_;
  };

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
  Error map_exception(std::exception_ptr e) const;
  Status create_private();
  Status lock_file();
  Status open_connections();
  Conn* acquire_reader();
  void release_reader(Conn* c);
  void acquire_heavy();
  void release_heavy();

  SqliteOptions options_;
  const bool memory_;
  int lock_fd_ = -1;

  std::mutex writer_mu_;
  std::unique_ptr<Conn> writer_;
  CommitQueue commits_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  std::vector<Conn*> free_readers_;

  std::mutex heavy_mu_;
  std::condition_variable heavy_cv_;
  int heavy_running_ = 0;
};

}  // namespace chat::sqlite
