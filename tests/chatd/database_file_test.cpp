// chatd opens a database only when it and its companions are the server's
// own (issue 9: a planted database or WAL file is read or replayed as ours).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "database_file.hpp"

namespace fs = std::filesystem;
using chat::ErrorCode;

namespace {

struct Dir {
  fs::path path;
  Dir() : path(fs::temp_directory_path() / ("chatd-dbfile-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void plant(const std::string& path, mode_t mode) {
  std::ofstream(path) << "x";
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("database file: missing, private or in memory is accepted", "[chatd][database_file][safety]") {
  Dir d;
  auto none = chatd::check_database_file(d.file("new.db"));
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(chatd::check_database_file(":memory:").ok());
  plant(d.file("mine.db"), 0600);
  plant(d.file("mine.db-wal"), 0600);
  auto mine = chatd::check_database_file(d.file("mine.db"));
  REQUIRE(mine.ok());
  CHECK(mine->empty());
}

TEST_CASE("database file: readable by others is accepted with a warning", "[chatd][database_file][safety]") {
  Dir d;
  plant(d.file("old.db"), 0644);
  auto r = chatd::check_database_file(d.file("old.db"));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK_THAT(r->front(), Catch::Contains("chmod 600"));
}

TEST_CASE("database file: writable by others is refused, companions too", "[chatd][database_file][safety]") {
  Dir d;
  plant(d.file("shared.db"), 0666);
  auto r = chatd::check_database_file(d.file("shared.db"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("0666"));

  plant(d.file("db2.db"), 0600);
  plant(d.file("db2.db-wal"), 0662);  // a planted WAL is replayed into the database
  auto wal = chatd::check_database_file(d.file("db2.db"));
  REQUIRE_FALSE(wal.ok());
  CHECK_THAT(wal.error().message, Catch::Contains("db2.db-wal"));
}

TEST_CASE("database file: a directory in its place is refused", "[chatd][database_file][safety]") {
  Dir d;
  fs::create_directories(d.file("dir.db"));
  auto r = chatd::check_database_file(d.file("dir.db"));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("database file: a file owned by another user is refused", "[chatd][database_file][safety]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot chown a planted file to nobody; skipped");
    return;
  }
  Dir d;
  plant(d.file("planted.db"), 0600);
  REQUIRE(::chown(d.file("planted.db").c_str(), 65534, 65534) == 0);  // nobody
  auto r = chatd::check_database_file(d.file("planted.db"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("owned by uid 65534"));

  // Through a symbolic link the target is what counts.
  REQUIRE(::symlink(d.file("planted.db").c_str(), d.file("link.db").c_str()) == 0);
  CHECK_FALSE(chatd::check_database_file(d.file("link.db")).ok());
}
