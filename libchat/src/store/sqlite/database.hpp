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
// Every connection caches its prepared statements (connection.hpp). Reads
// run in one read transaction (one snapshot: a page and its total agree).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/sqlite_store.hpp"
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

  // Runs `f(Conn&)` in a write transaction on the writer connection; commits
  // only when `f` succeeds, so an error leaves nothing written.
  template <typename T, typename F>
  Result<T> write(F&& f) {
    return guarded<T>([&]() -> Result<T> {
      std::lock_guard lk(writer_mu_);
      Tx tx(*writer_, "BEGIN IMMEDIATE");
      Result<T> r = f(*writer_);
      if (r.ok()) tx.commit();
      return r;
    });
  }

  // Runs `f(Conn&)` holding the writer, with no transaction: `f` makes its
  // own and may act after its commit while appends are still held off.
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

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  std::vector<Conn*> free_readers_;

  std::mutex heavy_mu_;
  std::condition_variable heavy_cv_;
  int heavy_running_ = 0;
};

}  // namespace chat::sqlite
