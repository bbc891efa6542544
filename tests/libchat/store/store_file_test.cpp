// What only a file-backed store does: reopen and migrate, lock out a second
// opener, refuse files it does not understand.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "chat/sqlite_store.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::TempDir;

namespace {

Timestamp at(std::int64_t seconds) { return from_millis(1'700'000'000'000LL + seconds * 1000); }

SqliteOptions options_for(const TempDir& dir) {
  SqliteOptions o;
  o.path = dir.file("chat.db");
  return o;
}

int user_version(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA user_version").getInt();
}

}  // namespace

TEST_CASE("store: reopening a file database keeps the data and migrates nothing", "[store][sqlite]") {
  TempDir dir;
  const auto opts = options_for(dir);
  std::int64_t conv = 0, msg = 0;
  {
    auto s = open_sqlite_store(opts);
    REQUIRE(s.ok());
    NewConversation nc;
    nc.handle = "h1";
    conv = (*s)->create_conversation(nc, at(0))->id;
    NewMessage m;
    m.content = "persisted aardvark";
    m.client_id = "k1";
    msg = (*s)->append_message(conv, m, at(1))->message.id;
  }
  const int version = user_version(opts.path);
  CHECK(version >= 1);
  {
    auto s = open_sqlite_store(opts);
    REQUIRE(s.ok());
    CHECK(user_version(opts.path) == version);
    auto c = (*s)->find_conversation_by_handle("h1");
    REQUIRE(c.ok());
    CHECK(c->id == conv);
    CHECK(c->total_messages == 1);
    CHECK((*s)->get_message(msg)->content == "persisted aardvark");
    CHECK((*s)->last_message_id().value() == msg);
    // Indexing resumes where it stopped (the first store may have closed
    // before its indexer ran).
    SearchQuery q;
    q.text = "aardvark";
    CHECK((*s)->search_messages(q)->total == 1);
    NewMessage again;
    again.client_id = "k1";
    CHECK_FALSE((*s)->append_message(conv, again, at(2))->created);
  }
}

TEST_CASE("store: a second open of the same file is refused while the first is open", "[store][sqlite]") {
  TempDir dir;
  const auto opts = options_for(dir);
  auto first = open_sqlite_store(opts);
  REQUIRE(first.ok());
  auto second = open_sqlite_store(opts);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == ErrorCode::kUnavailable);
  CHECK(second.error().message == "database is in use by another process");
  first.value().reset();
  CHECK(open_sqlite_store(opts).ok());
}

TEST_CASE("store: a lock file planted as a symbolic link is refused, its target untouched", "[store][sqlite]") {
  TempDir dir;
  const auto opts = options_for(dir);
  const std::string target = opts.path + ".elsewhere";
  REQUIRE(::symlink(target.c_str(), (opts.path + ".lock").c_str()) == 0);
  auto s = open_sqlite_store(opts);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::kUnavailable);
  struct stat st {};
  CHECK(::lstat(target.c_str(), &st) != 0);  // nothing was created through the link
}

TEST_CASE("store: a database newer than the code, or not a database, is refused", "[store][sqlite]") {
  TempDir dir;
  const auto opts = options_for(dir);
  SECTION("newer schema version") {
    REQUIRE(open_sqlite_store(opts).ok());
    {
      SQLite::Database db(opts.path, SQLite::OPEN_READWRITE);
      db.exec("PRAGMA user_version = 999");
    }
    auto s = open_sqlite_store(opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kInternal);
    CHECK(s.error().message.find("newer") != std::string::npos);
    // The refused open released its lock.
    {
      SQLite::Database db(opts.path, SQLite::OPEN_READWRITE);
      db.exec("PRAGMA user_version = 1");
    }
    CHECK(open_sqlite_store(opts).ok());
  }
  SECTION("not a SQLite file") {
    {
      std::ofstream f(opts.path, std::ios::binary);
      f << std::string(4096, 'x');
    }
    auto s = open_sqlite_store(opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kInternal);
  }
  SECTION("a SQLite file of another application") {
    {
      SQLite::Database db(opts.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("CREATE TABLE something_else (x INTEGER)");
    }
    auto s = open_sqlite_store(opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kInternal);
    CHECK(s.error().message.find("not a libchat") != std::string::npos);
  }
  SECTION("a directory that does not exist") {
    SqliteOptions o;
    o.path = dir.file("no/such/dir/chat.db");
    auto s = open_sqlite_store(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kUnavailable);
  }
}

TEST_CASE("store: full durability opens and works", "[store][sqlite]") {
  TempDir dir;
  auto opts = options_for(dir);
  opts.durability = Durability::kFull;
  opts.reader_connections = 1;
  auto s = open_sqlite_store(opts);
  REQUIRE(s.ok());
  auto conv = (*s)->create_conversation(NewConversation{}, at(0));
  REQUIRE(conv.ok());
  NewMessage m;
  m.content = "x";
  CHECK((*s)->append_message(conv->id, m, at(1)).ok());
}

TEST_CASE("store: a new database and its companions are private (mode 0600)", "[store][safety][sqlite]") {
  TempDir dir;
  const auto opts = options_for(dir);
  const mode_t old_mask = ::umask(022);  // a typical umask: it would leave 0644
  {
    auto s = open_sqlite_store(opts);
    REQUIRE(s.ok());
    NewConversation nc;
    nc.handle = "private";
    REQUIRE((*s)->create_conversation(nc, at(0)).ok());
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
      const std::string path = opts.path + suffix;
      INFO(path);
      struct stat st {};
      REQUIRE(::stat(path.c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0600);
    }
  }
  ::umask(old_mask);
}
