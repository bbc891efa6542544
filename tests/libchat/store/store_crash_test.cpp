// A writer killed with SIGKILL under load loses no acknowledged message
// (WAL + synchronous=NORMAL is durable against a process crash).
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include "chat/sqlite_store.hpp"
#include "store/store_fixture.hpp"

extern char** environ;

using namespace chat;
using chat::testing::TempDir;

namespace {

// Runs the crash writer (with `threads` writer threads), reads `wanted`
// acknowledged ids, then SIGKILLs it while it keeps appending. Returns the
// ids it acknowledged.
std::set<std::int64_t> run_and_kill(const std::string& db_path, std::size_t wanted, int threads = 1) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::string exe = CHAT_CRASH_WRITER_PATH;
  std::string path = db_path;
  std::string max = "1000000";
  std::string thread_count = std::to_string(threads);
  char* argv[] = {exe.data(), path.data(), max.data(), thread_count.data(), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  REQUIRE(rc == 0);

  std::set<std::int64_t> acked;
  std::string buf;
  char chunk[4096];
  while (acked.size() < wanted) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // the writer died early: the checks below will say so
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      acked.insert(std::stoll(buf.substr(0, pos)));
      buf.erase(0, pos + 1);
    }
  }
  // While the writer lives, another process's store cannot open the file.
  {
    SqliteOptions o;
    o.path = db_path;
    auto second = open_sqlite_store(o);
    CHECK_FALSE(second.ok());
    if (!second.ok()) CHECK(second.error().code == ErrorCode::kUnavailable);
  }
  ::kill(pid, SIGKILL);
  // Ids that were complete lines before the kill are acknowledged too.
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  std::size_t pos;
  while ((pos = buf.find('\n')) != std::string::npos) {
    acked.insert(std::stoll(buf.substr(0, pos)));
    buf.erase(0, pos + 1);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  return acked;
}

// The live messages and counters of the crash writer's conversation, and
// that every id in `acked` is there.
void check_reopened(const std::string& db, const std::set<std::int64_t>& all) {
  SqliteOptions o;
  o.path = db;
  auto store = open_sqlite_store(o);  // the dead writer's lock is gone
  REQUIRE(store.ok());
  auto conv = (*store)->find_conversation_by_handle("crash-test");
  REQUIRE(conv.ok());
  std::size_t missing = 0;
  for (auto id : all)
    if (!(*store)->get_message(id).ok()) ++missing;
  CHECK(missing == 0);
  // Counters moved in the same transactions as the rows: still exact.
  MessageQuery q;
  q.limit = 1'000'000;
  q.after_id = 0;
  q.role = Role::kAssistant;
  auto assistants = (*store)->list_messages(conv->id, q);
  q.role = Role::kUser;
  auto users = (*store)->list_messages(conv->id, q);
  REQUIRE(assistants.ok());
  REQUIRE(users.ok());
  const auto live = assistants->total + users->total;
  CHECK(conv->total_messages == live);
  CHECK(conv->total_tokens == live);
  CHECK(conv->unread_count == assistants->total);
  CHECK(live >= static_cast<std::int64_t>(all.size()));
}

}  // namespace

TEST_CASE("store: acknowledged appends survive SIGKILL of the writer", "[store][crash][sqlite]") {
  TempDir dir;
  const std::string db = dir.file("crash.db");
  std::set<std::int64_t> all;
  // Twice: the second run also reopens a database left by a killed process.
  for (int round = 0; round < 2; ++round) {
    auto acked = run_and_kill(db, 200);
    REQUIRE(acked.size() >= 200);
    all.insert(acked.begin(), acked.end());
    check_reopened(db, all);
  }
}

// Group commit (issue 11): with several writer threads most appends commit in
// groups; killed mid-burst, every id any thread was told is committed is there.
TEST_CASE("store: acknowledged grouped appends survive SIGKILL mid-burst", "[store][crash][group-commit][sqlite]") {
  TempDir dir;
  const std::string db = dir.file("crash-group.db");
  std::set<std::int64_t> all;
  for (int round = 0; round < 2; ++round) {
    auto acked = run_and_kill(db, 400, 6);
    REQUIRE(acked.size() >= 400);
    all.insert(acked.begin(), acked.end());
    check_reopened(db, all);
  }
}
