// Helpers shared by the store tests: temporary directories and the list of
// Store factories every contract test runs against. A new Store
// implementation joins the contract suite by adding a name here.
//
// "postgres" joins when CHAT_TEST_PG_URL names a PostgreSQL server the tests
// may create databases on (e.g. postgresql://chat@127.0.0.1:55432/postgres):
// each TempDir then owns one fresh database "chat_t_<pid>_<n>", created on
// the first open in that directory (a reopen in the same directory finds
// the same data, as a file-backed store does) and dropped when the TempDir
// goes (after the stores opened in it are closed).
#pragma once

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <optional>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "chat/postgres_store.hpp"
#include "chat/sqlite_store.hpp"

namespace chat::testing {

// The admin URL of the test PostgreSQL server, or nullptr.
inline const char* test_pg_url() {
  const char* u = ::getenv("CHAT_TEST_PG_URL");
  return u != nullptr && *u != '\0' ? u : nullptr;
}

// Runs one statement on the admin URL's database; throws on failure.
inline void pg_admin(const std::string& sql) {
  const char* url = test_pg_url();
  if (url == nullptr) throw std::runtime_error("CHAT_TEST_PG_URL is not set");
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
  if (url == nullptr) throw std::runtime_error("CHAT_TEST_PG_URL is not set");
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

}  // namespace chat::testing
