#include "store/sqlite/database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "store/sqlite/schema.hpp"
#include "store/sqlite/search_index.hpp"

namespace chat::sqlite {

namespace {

// WAL pages between automatic checkpoints (SQLite's default is 1000). A
// checkpoint fsyncs the database file in the commit that triggers it; with
// every append dirtying ~5 pages, the default checkpoints every ~200 appends
// and the fsyncs dominate p99 and cost throughput. 4000 pages bounds the WAL
// at about 16 MB between checkpoints. Measured: bench/README.md.
constexpr int kWalAutocheckpointPages = 4000;

// "UNIQUE constraint failed: messages.conversation_id, messages.client_id" -> "client_id".
std::string unique_field(std::string_view what) {
  auto pos = what.rfind('.');
  if (pos == std::string_view::npos) return {};
  auto field = what.substr(pos + 1);
  auto end = field.find_first_of(" ,)");
  return std::string(field.substr(0, end));
}

}  // namespace

// ---- the database -------------------------------------------------------------

Database::Database(const SqliteOptions& options)
    : options_(options),
      memory_(options.path == ":memory:"),
      commits_(
          writer_mu_, [this](std::exception_ptr e) { return map_exception(e); }, options.max_group_writes) {
  if (options_.index_batch <= 0) options_.index_batch = 512;
}

Database::~Database() {
  readers_.clear();
  writer_.reset();
  // The lock goes last: the database files are closed by now.
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Database::log(LogLevel level, const std::string& message) const {
  if (options_.logger && options_.logger->enabled(level)) options_.logger->log(level, message);
}

Error Database::map_error(const SQLite::Exception& e) const {
  const int code = e.getErrorCode();
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    log(LogLevel::kWarn, fmt::format("sqlite store: busy: {}", e.what()));
    return Error::unavailable("the database is busy; retry later");
  }
  const int ext = e.getExtendedErrorCode();
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
    auto field = unique_field(e.what());
    return Error::conflict(field, field.empty() ? "the value is already taken" : field + " is already taken");
  }
  log(LogLevel::kError, fmt::format("sqlite store: {} (code {})", e.what(), ext));
  if (code == SQLITE_FULL) return Error::unavailable("the database is full");
  return Error::internal("storage failure");
}

Error Database::map_exception(std::exception_ptr e) const {
  try {
    std::rethrow_exception(e);
  } catch (const SQLite::Exception& x) {
    return map_error(x);
  } catch (const std::exception& x) {
    log(LogLevel::kError, std::string("sqlite store: ") + x.what());
  } catch (...) {
    log(LogLevel::kError, "sqlite store: unknown exception");
  }
  return Error::internal("storage failure");
}

// A process holds an exclusive flock on "<path>.lock" while the store is open.
// SQLite's own locking lets two processes share a database; two daemons on one
// file (SO_REUSEPORT lets them share a port too) must not.
Status Database::lock_file() {
  const std::string lock_path = options_.path + ".lock";
  // O_NOFOLLOW: a link planted in the database's folder must not make the
  // server create or lock a file elsewhere (ELOOP: refused like any open failure).
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::unavailable("the database file cannot be opened");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error::unavailable("database is in use by another process");
  }
  lock_fd_ = fd;
  return {};
}

// Chats are private: a new database file is created with mode 0600 before
// SQLite opens it, and SQLite gives "-wal" and "-shm" the database file's
// permissions. An existing file keeps its mode (the operator's choice).
Status Database::create_private() {
  const int fd = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return Error::unavailable("the database file cannot be opened");
  ::close(fd);
  return {};
}

Status Database::open() {
  if (!memory_) CHAT_RETURN_IF_ERROR(lock_file());
  if (!memory_ && options_.path.rfind("file:", 0) != 0) CHAT_RETURN_IF_ERROR(create_private());
  try {
    return open_connections();
  } catch (const SQLite::Exception& e) {
    log(LogLevel::kError, fmt::format("sqlite store: open failed: {}", e.what()));
    if (e.getErrorCode() == SQLITE_NOTADB) return Error::internal("the database file is not a SQLite database");
    if (e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED)
      return Error::unavailable("database is in use by another process");
    if (e.getErrorCode() == SQLITE_CANTOPEN || e.getErrorCode() == SQLITE_PERM || e.getErrorCode() == SQLITE_READONLY)
      return Error::unavailable("the database file cannot be opened");
    return Error::internal("the database could not be opened");
  } catch (const std::exception& e) {
    log(LogLevel::kError, fmt::format("sqlite store: open failed: {}", e.what()));
    return Error::internal("the database could not be opened");
  }
}

Status Database::open_connections() {
  const int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX;
  const int busy_ms = static_cast<int>(options_.busy_timeout.count());
  writer_ = std::make_unique<Conn>(options_.path, flags, busy_ms);
  register_search_functions(writer_->db());
  auto& db = writer_->db();
  if (!memory_) {
    // Concurrent readers and the durability contract both rest on WAL.
    // Durability::kNormal (synchronous=NORMAL): an acknowledged append
    // survives a crash of the process (tested with SIGKILL), not a power loss.
    if (db.execAndGet("PRAGMA journal_mode=WAL").getString() != "wal")
      return Error::internal("the database cannot use write-ahead logging");
    db.exec(options_.durability == Durability::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db.exec(fmt::format("PRAGMA wal_autocheckpoint={}", kWalAutocheckpointPages));
  }
  db.exec("PRAGMA foreign_keys=ON");
  db.exec("PRAGMA temp_store=MEMORY");
  db.exec(fmt::format("PRAGMA cache_size=-{}", std::max<std::int64_t>(options_.cache_size_kib, 256)));
  CHAT_RETURN_IF_ERROR(detail::migrate_sqlite_schema(db, [this](LogLevel level, const std::string& message) {
    log(level, message);
  }));
  if (!memory_) {
    const int n = std::max(1, options_.reader_connections);
    for (int i = 0; i < n; ++i) {
      auto r = std::make_unique<Conn>(options_.path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, busy_ms);
      register_search_functions(r->db());
      r->db().exec("PRAGMA query_only=ON");
      r->db().exec("PRAGMA temp_store=MEMORY");
      r->db().exec(fmt::format("PRAGMA cache_size=-{}", std::max<std::int64_t>(options_.cache_size_kib / n, 256)));
      free_readers_.push_back(r.get());
      readers_.push_back(std::move(r));
    }
  }
  return {};
}

Conn* Database::acquire_reader() {
  std::unique_lock lk(readers_mu_);
  readers_cv_.wait(lk, [&] { return !free_readers_.empty(); });
  Conn* c = free_readers_.back();
  free_readers_.pop_back();
  return c;
}

void Database::release_reader(Conn* c) {
  {
    std::lock_guard lk(readers_mu_);
    free_readers_.push_back(c);
  }
  readers_cv_.notify_one();
}

int Database::heavy_limit() const {
  // Half the pool, at least one: with the default four readers two
  // analytics reads run at once and two connections stay for the rest.
  return std::max(1, std::max(1, options_.reader_connections) / 2);
}

void Database::acquire_heavy() {
  std::unique_lock lk(heavy_mu_);
  heavy_cv_.wait(lk, [&] { return heavy_running_ < heavy_limit(); });
  ++heavy_running_;
}

void Database::release_heavy() {
  {
    std::lock_guard lk(heavy_mu_);
    --heavy_running_;
  }
  heavy_cv_.notify_one();
}

}  // namespace chat::sqlite
