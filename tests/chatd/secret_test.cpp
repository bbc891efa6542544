// The JWT secret file is trusted only when it is ours and private (issue 9):
// planted, shared, linked and short secrets are refused with a clear message.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "secret.hpp"

namespace fs = std::filesystem;
using chat::ErrorCode;

namespace {

struct Dir {
  fs::path path;
  Dir() : path(fs::temp_directory_path() / ("chatd-secret-safety-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string db(const std::string& name) const { return (path / name).string(); }
};

void plant(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content << "\n";
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

const std::string kGood = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("secret: a file with group or other bits is refused", "[chatd][secret][safety]") {
  Dir d;
  const std::string db = d.db("open.db");
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    plant(db + ".jwt-secret", kGood, mode);
    auto r = chatd::resolve_jwt_secret("", db);
    INFO(mode);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kPermissionDenied);
    CHECK_THAT(r.error().message, Catch::Contains("group and others must have no access"));
    CHECK_THAT(r.error().message, Catch::Contains(db + ".jwt-secret"));
  }
  plant(db + ".jwt-secret", kGood, 0600);
  auto ok = chatd::resolve_jwt_secret("", db);
  REQUIRE(ok.ok());
  CHECK(ok->secret == kGood);
  CHECK_FALSE(ok->created);
  plant(db + ".jwt-secret", kGood, 0400);  // read-only for the owner is fine
  CHECK(chatd::resolve_jwt_secret("", db).ok());
}

TEST_CASE("secret: a symbolic link is refused, even to a private file", "[chatd][secret][safety]") {
  Dir d;
  const std::string target = d.db("elsewhere");
  plant(target, kGood, 0600);
  const std::string db = d.db("linked.db");
  fs::create_symlink(target, db + ".jwt-secret");
  auto r = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("symbolic link"));
  // A link to a system file (the issue's /etc/hostname) is refused the same way.
  const std::string db2 = d.db("hostname.db");
  fs::create_symlink("/etc/hostname", db2 + ".jwt-secret");
  CHECK(chatd::resolve_jwt_secret("", db2).error().code == ErrorCode::kPermissionDenied);
  // A dangling link is not followed to create a file either.
  const std::string db3 = d.db("dangling.db");
  fs::create_symlink(d.db("nowhere"), db3 + ".jwt-secret");
  CHECK_FALSE(chatd::resolve_jwt_secret("", db3).ok());
  CHECK_FALSE(fs::exists(d.db("nowhere")));
}

TEST_CASE("secret: a directory in its place is refused", "[chatd][secret][safety]") {
  Dir d;
  const std::string db = d.db("dir.db");
  fs::create_directories(db + ".jwt-secret");
  ::chmod((db + ".jwt-secret").c_str(), 0700);
  auto r = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
}

TEST_CASE("secret: a file owned by another user is refused", "[chatd][secret][safety]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot chown a planted file to nobody; skipped");
    return;
  }
  Dir d;
  const std::string db = d.db("owned.db");
  plant(db + ".jwt-secret", kGood, 0600);
  REQUIRE(::chown((db + ".jwt-secret").c_str(), 65534, 65534) == 0);  // nobody
  auto r = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("owned by uid 65534"));
}

TEST_CASE("secret: secrets shorter than 32 bytes are refused", "[chatd][secret][safety]") {
  Dir d;
  const std::string db = d.db("short.db");
  plant(db + ".jwt-secret", kGood.substr(0, 31), 0600);
  auto r = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("shorter than 32"));
  plant(db + ".jwt-secret", kGood.substr(0, 32), 0600);
  CHECK(chatd::resolve_jwt_secret("", db).ok());

  auto flag = chatd::resolve_jwt_secret("x", d.db("other.db"));
  REQUIRE_FALSE(flag.ok());
  CHECK(flag.error().code == ErrorCode::kInvalidArgument);
  CHECK(flag.error().field == "--jwt-secret");
  CHECK_THAT(flag.error().message, Catch::Contains("at least 32"));
  CHECK_FALSE(chatd::resolve_jwt_secret(kGood.substr(0, 31), d.db("other.db")).ok());
  CHECK(chatd::resolve_jwt_secret(kGood.substr(0, 32), d.db("other.db")).ok());
  // White space around a flag's secret is not secret, as in a file.
  CHECK_FALSE(chatd::resolve_jwt_secret(std::string(32, ' '), d.db("other.db")).ok());
  CHECK_FALSE(chatd::resolve_jwt_secret(" " + kGood.substr(0, 31) + "\n", d.db("other.db")).ok());
}

TEST_CASE("secret: starts racing to create the file agree on one secret", "[chatd][secret][safety]") {
  Dir d;
  for (int round = 0; round < 10; ++round) {
    const std::string db = d.db("race" + std::to_string(round) + ".db");
    std::vector<std::string> seen(8);
    std::vector<int> created(8, 0);
    std::vector<std::thread> starts;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      starts.emplace_back([&, i] {
        auto r = chatd::resolve_jwt_secret("", db);
        if (r.ok()) {
          seen[i] = r->secret;
          created[i] = r->created ? 1 : 0;
        }
      });
    }
    for (auto& t : starts) t.join();
    int creators = 0;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      CHECK(seen[i].size() == 64);
      CHECK(seen[i] == seen[0]);
      creators += created[i];
    }
    CHECK(creators == 1);
    // Nothing but the secret is left behind (no temporary files).
    int files = 0;
    for (const auto& e : fs::directory_iterator(d.path))
      if (e.path().filename().string().rfind("race" + std::to_string(round) + ".db", 0) == 0) ++files;
    CHECK(files == 1);
    struct stat st {};
    REQUIRE(::stat((db + ".jwt-secret").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
}

TEST_CASE("secret: a file with a second hard link is refused", "[chatd][secret][safety]") {
  Dir d;
  const std::string db = d.db("linked.db");
  plant(db + ".jwt-secret", kGood, 0600);
  // Whoever made the second name can read the secret through it later, even
  // after our copy's mode or owner changes.
  REQUIRE(::link((db + ".jwt-secret").c_str(), d.db("copy").c_str()) == 0);
  auto r = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains("hard links"));
  REQUIRE(::unlink(d.db("copy").c_str()) == 0);
  auto again = chatd::resolve_jwt_secret("", db);
  REQUIRE(again.ok());
  CHECK(again->secret == kGood);
}

TEST_CASE("secret: a zero-filled, repeated or control-byte secret is refused", "[chatd][secret][safety]") {
  Dir d;
  const std::string db = d.db("weak.db");
  {
    std::ofstream out(db + ".jwt-secret", std::ios::binary);
    out << std::string(40, '\0');
  }
  REQUIRE(::chmod((db + ".jwt-secret").c_str(), 0600) == 0);
  auto zeros = chatd::resolve_jwt_secret("", db);
  REQUIRE_FALSE(zeros.ok());
  CHECK(zeros.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(zeros.error().message, Catch::Contains("weak"));

  auto repeated = chatd::resolve_jwt_secret(std::string(40, 'a'), db);
  REQUIRE_FALSE(repeated.ok());
  CHECK(repeated.error().code == ErrorCode::kInvalidArgument);
  auto control = chatd::resolve_jwt_secret(std::string(20, 'k') + "\x01" + std::string(20, 'q'), db);
  REQUIRE_FALSE(control.ok());
  CHECK(control.error().field == "--jwt-secret");
}
