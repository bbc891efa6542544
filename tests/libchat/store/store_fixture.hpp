// Helpers shared by the store and service tests: temporary directories and
// the list of Store factories every contract test runs against. A new Store
// implementation joins the contract suite by adding a name here.
//
// Which stores (issue 13: the same suite on SQLite and on PostgreSQL):
// - By default the SQLite stores ("sqlite-file", "sqlite-memory"); the
//   service tests (open_default_test_store) use an in-memory SQLite store.
//   "postgres" joins the list when CHAT_TEST_PG_URL names a PostgreSQL server
//   the tests may create databases on (e.g.
//   postgresql://chat@127.0.0.1:55432/postgres).
// - CHAT_TEST_STORE=postgres (the "pg: " tests of CTest): "postgres" only,
//   and the service tests run on it too. The server is CHAT_TEST_PG_URL, else
//   the URL in the file the build compiled in (CHAT_TEST_PG_URL_FILE, written
//   by tests/pg/pg_cluster.sh, which CTest runs as the fixture of the "pg: "
//   tests). Finding neither fails the test (never a silent pass); without
//   CHAT_TEST_STORE, tests that need PostgreSQL and find no URL skip with a
//   WARN.
// Tests about SQLite itself are tagged [sqlite] and left out of the postgres
// run; tests about PostgreSQL itself are tagged [postgres] (tests/CMakeLists.txt).
//
// Each TempDir owns one fresh database "chat_t_<pid>_<n>", created on the
// first "postgres" open in that directory (a reopen in the same directory
// finds the same data, as a file-backed store does) and dropped when the
// TempDir goes (after the stores opened in it are closed).
#pragma once

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <optional>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "chat/postgres_store.hpp"
#include "chat/sqlite_store.hpp"
#include "store/forwarding_store.hpp"

namespace chat::testing {

// CHAT_TEST_STORE=postgres: the whole run is on PostgreSQL.
inline bool postgres_run() {
  const char* v = ::getenv("CHAT_TEST_STORE");
  return v != nullptr && std::string_view(v) == "postgres";
}

// The admin URL of the test PostgreSQL server, or nullptr (see the header comment).
inline const char* test_pg_url() {
  static const std::string url = [] {
    const char* u = ::getenv("CHAT_TEST_PG_URL");
    if (u != nullptr && *u != '\0') return std::string(u);
    std::string from_file;
#ifdef CHAT_TEST_PG_URL_FILE
    if (postgres_run()) {
      std::ifstream in(CHAT_TEST_PG_URL_FILE);
      std::getline(in, from_file);
    }
#endif
    return from_file;
  }();
  return url.empty() ? nullptr : url.c_str();
}

// What a test that needs PostgreSQL and finds no server says.
inline constexpr const char* kNoPgServer =
    "no PostgreSQL for the tests: set CHAT_TEST_PG_URL, or run the \"pg: \" tests through ctest (which "
    "starts tests/pg/pg_cluster.sh)";

// Runs one statement on the admin URL's database; throws on failure.
inline void pg_admin(const std::string& sql) {
  const char* url = test_pg_url();
  if (url == nullptr) throw std::runtime_error(kNoPgServer);
  PGconn* c = PQconnectdb(url);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to CHAT_TEST_PG_URL: " + m);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  std::string m = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("test database setup failed: " + m);
}

// The admin URL's connection parameters with the database replaced, as a
// key=value conninfo string.
inline std::string pg_conninfo_for(const std::string& database) {
  const char* url = test_pg_url();
  if (url == nullptr) throw std::runtime_error(kNoPgServer);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url, &err);
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    throw std::runtime_error("CHAT_TEST_PG_URL cannot be parsed");
  }
  auto quoted = [](const std::string& v) {
    std::string out = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
    return out + "'";
  };
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string key = o->keyword;
    if (key == "dbname" || o->val == nullptr || *o->val == '\0') continue;
    out += key + "=" + quoted(o->val) + " ";
  }
  PQconninfoFree(opts);
  return out + "dbname=" + quoted(database);
}

// A fresh, empty database on the test server; its name.
inline std::string create_test_pg_database() {
  static std::atomic<int> counter{0};
  const std::string name = "chat_t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  pg_admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  pg_admin("CREATE DATABASE " + name);
  return name;
}

inline void drop_test_pg_database(const std::string& name) {
  try {
    pg_admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  } catch (...) {  // NOLINT: a server gone at the end of a test leaves a database behind, nothing worse
  }
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chat-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    if (pg_database_) drop_test_pg_database(*pg_database_);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // The PostgreSQL database of this directory's "postgres" stores, created
  // on first use and dropped with the directory.
  const std::string& pg_database() const {
    if (!pg_database_) pg_database_ = create_test_pg_database();
    return *pg_database_;
  }

 private:
  std::filesystem::path path_;
  mutable std::optional<std::string> pg_database_;
};

inline const std::vector<std::string>& store_factories() {
  static const std::vector<std::string> names = [] {
    if (postgres_run()) return std::vector<std::string>{"postgres"};
    std::vector<std::string> v{"sqlite-file", "sqlite-memory"};
    if (test_pg_url() != nullptr) v.emplace_back("postgres");
    return v;
  }();
  return names;
}

// A store of the named kind; file-backed stores live in `dir`.
inline std::unique_ptr<Store> open_test_store(const std::string& factory, const TempDir& dir) {
  Result<std::unique_ptr<Store>> r = Error::internal("unknown factory");
  if (factory == "sqlite-file") {
    SqliteOptions o;
    o.path = dir.file("chat.db");
    o.reader_connections = 3;
    r = open_sqlite_store(o);
  } else if (factory == "sqlite-memory") {
    r = open_memory_store();
  } else if (factory == "postgres") {
    PostgresOptions o;
    o.conninfo = pg_conninfo_for(dir.pg_database());
    o.connections = 4;
    r = open_postgres_store(o);
  }
  if (!r) throw std::runtime_error("cannot open store " + factory + ": " + r.error().message);
  return std::move(r).value();
}

namespace detail {

// A store with the TempDir (and so the database) it lives in: the store
// closes first, then the directory and its database go.
class StoreInDir final : public ForwardingStore {
 public:
  StoreInDir(std::unique_ptr<TempDir> dir, std::shared_ptr<Store> inner)
      : ForwardingStore(std::move(inner)), dir_(std::move(dir)) {}
  ~StoreInDir() override { s_.reset(); }

 private:
  std::unique_ptr<TempDir> dir_;  // goes after the store: the destructor closes the store first
};

}  // namespace detail

// The store of a test that runs on "the" store of the run: a fresh
// PostgreSQL database in a postgres run, else a private in-memory SQLite
// store. Throws when a postgres run finds no server.
inline std::unique_ptr<Store> open_default_test_store() {
  if (!postgres_run()) {
    auto r = open_memory_store();
    if (!r) throw std::runtime_error("cannot open a memory store: " + r.error().message);
    return std::move(r).value();
  }
  auto dir = std::make_unique<TempDir>();
  std::shared_ptr<Store> store = open_test_store("postgres", *dir);
  return std::make_unique<detail::StoreInDir>(std::move(dir), std::move(store));
}

}  // namespace chat::testing
