// Helpers shared by the store and service tests: temporary directories and
// the Store factories every contract test runs against. A new Store
// implementation joins the contract suite by adding a name here.
//
// Which stores (issue 13: the same suite on SQLite and on PostgreSQL):
// - CHAT_TEST_STORE unset: the SQLite stores ("sqlite-file",
//   "sqlite-memory"); the service tests use an in-memory store. With
//   CHAT_TEST_PG_URL set as well (by hand), "postgres" joins the list.
// - CHAT_TEST_STORE=postgres: "postgres" only, and the service tests use it
//   too. The server is CHAT_TEST_PG_URL, else the URL in the file the build
//   compiled in (CHAT_TEST_PG_URL_FILE: written by tests/pg/pg_cluster.sh,
//   which CTest runs as the fixture of the "pg: " tests). Finding neither is
//   an error, so a postgres run without a server fails instead of passing.
// Each postgres test store is a fresh database (chat_test_<pid>_<n>) on that
// server, dropped when the store is destroyed. Tests about SQLite itself are
// tagged [sqlite] and left out of the postgres run (tests/CMakeLists.txt).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "chat/sqlite_store.hpp"
#include "store/forwarding_store.hpp"

#if CHAT_TEST_POSTGRES
#include <libpq-fe.h>

#include "chat/postgres_store.hpp"
#endif

namespace chat::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chat-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// CHAT_TEST_STORE=postgres: the whole run is on PostgreSQL.
inline bool postgres_run() {
  const char* v = ::getenv("CHAT_TEST_STORE");
  return v != nullptr && std::string(v) == "postgres";
}

// The PostgreSQL server of the tests (a URL naming its maintenance
// database), or "" when none is configured.
inline std::string postgres_url() {
  if (const char* v = ::getenv("CHAT_TEST_PG_URL"); v != nullptr && *v != '\0') return v;
#ifdef CHAT_TEST_PG_URL_FILE
  if (postgres_run()) {
    std::ifstream in(CHAT_TEST_PG_URL_FILE);
    std::string url;
    if (in && std::getline(in, url) && !url.empty()) return url;
  }
#endif
  return {};
}

inline const std::vector<std::string>& store_factories() {
  static const std::vector<std::string> names = [] {
    if (postgres_run()) return std::vector<std::string>{"postgres"};
    if (!postgres_url().empty()) return std::vector<std::string>{"sqlite-file", "sqlite-memory", "postgres"};
    return std::vector<std::string>{"sqlite-file", "sqlite-memory"};
  }();
  return names;
}

#if CHAT_TEST_POSTGRES
namespace pg_detail {

// `url` with its path (the database name) replaced by `db`.
inline std::string with_database(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?');
  std::string out = url.substr(0, slash == std::string::npos ? (query == std::string::npos ? url.size() : query) : slash);
  out += '/';
  out += db;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

// Runs one statement on the maintenance database; throws on failure.
inline void admin(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot reach the test PostgreSQL at " + url + ": " + m);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string m = ok ? std::string() : PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error(sql + ": " + m);
}

// A store on its own fresh database, dropped after the store is closed.
class FreshDatabaseStore final : public ForwardingStore {
 public:
  FreshDatabaseStore(std::shared_ptr<Store> inner, std::string admin_url, std::string db)
      : ForwardingStore(std::move(inner)), admin_url_(std::move(admin_url)), db_(std::move(db)) {}
  ~FreshDatabaseStore() override {
    s_.reset();
    try {
      admin(admin_url_, "DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
    } catch (...) {  // NOLINT: the cluster is thrown away at the end anyway
    }
  }

 private:
  std::string admin_url_;
  std::string db_;
};

}  // namespace pg_detail
#endif

// A fresh PostgreSQL database for one test and the store on it; throws when
// no server is configured or this build has no PostgreSQL store.
inline std::unique_ptr<Store> open_postgres_test_store(int connections = 4) {
  const std::string url = postgres_url();
  if (url.empty())
    throw std::runtime_error(
        "CHAT_TEST_STORE=postgres but no server: set CHAT_TEST_PG_URL or start tests/pg/pg_cluster.sh "
        "(ctest starts it for the \"pg: \" tests)");
#if CHAT_TEST_POSTGRES
  static std::atomic<int> counter{0};
  const std::string db = "chat_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  pg_detail::admin(url, "CREATE DATABASE " + db);
  PostgresOptions o;
  o.conninfo = pg_detail::with_database(url, db);
  o.connections = connections;
  auto r = open_postgres_store(o);
  if (!r) {
    try {
      pg_detail::admin(url, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    } catch (...) {  // NOLINT: reported below
    }
    throw std::runtime_error("cannot open the PostgreSQL test store: " + r.error().message);
  }
  return std::make_unique<pg_detail::FreshDatabaseStore>(std::shared_ptr<Store>(std::move(r).value()), url, db);
#else
  (void)connections;
  throw std::runtime_error("this build has no PostgreSQL store");
#endif
}

// The store of a test that runs on "the" store of the run: PostgreSQL in a
// postgres run, else a private in-memory SQLite store.
inline std::unique_ptr<Store> open_default_test_store() {
  if (postgres_run()) return open_postgres_test_store();
  auto r = open_memory_store();
  if (!r) throw std::runtime_error("cannot open a memory store: " + r.error().message);
  return std::move(r).value();
}

// A store of the named kind; file-backed stores live in `dir`.
inline std::unique_ptr<Store> open_test_store(const std::string& factory, const TempDir& dir) {
  if (factory == "postgres") return open_postgres_test_store();
  Result<std::unique_ptr<Store>> r = Error::internal("unknown factory");
  if (factory == "sqlite-file") {
    SqliteOptions o;
    o.path = dir.file("chat.db");
    o.reader_connections = 3;
    r = open_sqlite_store(o);
  } else if (factory == "sqlite-memory") {
    r = open_memory_store();
  }
  if (!r) throw std::runtime_error("cannot open store " + factory + ": " + r.error().message);
  return std::move(r).value();
}

}  // namespace chat::testing
