// Upgrading a real version-1 database: the file keeps every row, reads back
// through the Store as it was written, gains the objects of later schema
// steps (the same schema a new file gets), and a second open changes nothing.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "chat/sqlite_store.hpp"
#include "store/sqlite/schema.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::TempDir;

namespace {

constexpr const char* kVersion1Database =
#include "store/data/schema_v1.sql.inc"
    ;

class CapturingLogger final : public Logger {
 public:
  void log(LogLevel, std::string_view message) override {
    std::lock_guard lk(mu_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> take() {
    std::lock_guard lk(mu_);
    return std::exchange(lines_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

int user_version(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA user_version").getInt();
}

// Every table, index and trigger by (type, name, sql).
using SchemaObjects = std::set<std::tuple<std::string, std::string, std::string>>;
SchemaObjects schema_of(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement s(db, "SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
  SchemaObjects out;
  while (s.executeStep()) out.emplace(s.getColumn(0).getString(), s.getColumn(1).getString(), s.getColumn(2).getString());
  return out;
}

bool has_migrated_line(const std::vector<std::string>& lines) {
  for (const auto& l : lines)
    if (l.find("migrated schema") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("store: a version-1 database migrates to the current schema with its rows intact", "[store][migration][sqlite]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(kVersion1Database);
  }
  REQUIRE(user_version(path) == 1);
  const int current = detail::sqlite_migrations().back().version;
  REQUIRE(current > 1);  // otherwise there is nothing to migrate and this test proves nothing

  auto logger = std::make_shared<CapturingLogger>();
  SqliteOptions o;
  o.path = path;
  o.logger = logger;
  {
    auto opened = open_sqlite_store(o);
    REQUIRE(opened.ok());
    Store& s = **opened;
    CHECK(has_migrated_line(logger->take()));
    CHECK(user_version(path) == current);

    // Conversations, with their counters and soft delete as version 1 left them.
    auto c = s.find_conversation_by_handle("legacy-1");
    REQUIRE(c.ok());
    CHECK(c->id == 1);
    CHECK(c->uuid == "11111111-1111-4111-8111-111111111111");
    CHECK(c->kind == ConversationKind::kSupport);
    CHECK(c->user_id == "u1");
    CHECK(c->agent_id == 7);
    CHECK(c->subject == "job-42");
    CHECK(c->title == "Old times");
    CHECK(c->metadata == R"({"source":"v1"})");
    CHECK(c->total_messages == 3);
    CHECK(c->unread_count == 1);
    CHECK(c->total_tokens == 30);
    CHECK(c->last_read_message_id == 2);
    CHECK(c->last_message_at == from_millis(1'700'000'003'000));
    CHECK(c->created_at == from_millis(1'700'000'000'000));
    CHECK(s.get_conversation(2).error().code == ErrorCode::kNotFound);
    REQUIRE(s.get_conversation(2, true).ok());

    // Messages, attachments, client_id replay.
    MessageQuery mq;
    auto page = s.list_messages(1, mq);
    REQUIRE(page.ok());
    CHECK(page->total == 3);
    REQUIRE(page->items.size() == 3);
    CHECK(page->items[0].content == "hello from the aardvark era");
    REQUIRE(page->items[0].attachments.size() == 1);
    CHECK(page->items[0].attachments[0].file_name == "cv.pdf");
    CHECK(page->items[0].attachments[0].file_size == 1234);
    CHECK(page->items[1].status == MessageStatus::kRead);
    CHECK(page->items[2].status == MessageStatus::kFailed);
    CHECK(s.find_message_by_uuid("22222222-2222-4222-8222-222222222222")->id == 2);
    NewMessage again;
    again.client_id = "k-1";
    auto replay = s.append_message(1, again, from_millis(1'700'000'010'000));
    REQUIRE(replay.ok());
    CHECK_FALSE(replay->created);
    CHECK(replay->message.id == 1);
    CHECK(s.last_message_id().value() == 3);

    // Search: the row version 1 indexed and the rows it had not reached.
    SearchQuery sq;
    sq.text = "aardvark";
    CHECK(s.search_messages(sq)->total == 1);
    sq.text = "zebras";
    CHECK(s.search_messages(sq)->total == 2);

    // Registries and the audit trail.
    CHECK(s.get_agent(7)->name == "Helper");
    CHECK(s.get_subject("job-42")->title == "Backend engineer");
    CHECK(s.get_profile("u1")->work_history == R"([{"company":"Acme"}])");
    auto audit = s.list_audit(AuditQuery{});
    REQUIRE(audit.ok());
    REQUIRE(audit->size() == 1);
    CHECK((*audit)[0].action == "conversation.delete");
    CHECK((*audit)[0].actor == "admin");

    // Analytics over the step-2 agent index.
    auto totals = s.activity_totals(ConversationKind::kSupport);
    REQUIRE(totals.ok());
    CHECK(totals->conversations == 1);
    CHECK(totals->messages == 3);
    REQUIRE(totals->agents.size() == 1);
    CHECK(totals->agents[0].name == "Helper");
    CHECK(totals->agents[0].replies == 2);
    CHECK(totals->agents[0].failed_replies == 1);

    // Step 6: rows older than it carry no token count (a window counts them);
    // list_context reads them as any other (the failed one is not history).
    ContextQuery cq;
    cq.counter = "bytes/4";
    cq.limit = 10;
    auto context = s.list_context(1, cq);
    REQUIRE(context.ok());
    REQUIRE(context->size() == 2);
    for (const auto& m : *context) CHECK_FALSE(m.tokens.has_value());

    // New writes go on after the old ids (AUTOINCREMENT survives the upgrade).
    NewMessage fresh;
    fresh.content = "after the upgrade";
    auto appended = s.append_message(1, fresh, from_millis(1'700'000'011'000));
    REQUIRE(appended.ok());
    CHECK(appended->message.id == 4);
  }

  // The migrated file has every object a new file gets, the indexes of later
  // steps included.
  const SchemaObjects migrated = schema_of(path);
  {
    SqliteOptions fresh;
    fresh.path = dir.file("fresh.db");
    REQUIRE(open_sqlite_store(fresh).ok());
    CHECK(migrated == schema_of(fresh.path));
  }
  bool agent_index = false;
  for (const auto& [type, name, sql] : migrated) agent_index |= type == "index" && name == "conversations_agent";
  CHECK(agent_index);

  // A second open migrates nothing and changes nothing.
  {
    auto again = open_sqlite_store(o);
    REQUIRE(again.ok());
    CHECK_FALSE(has_migrated_line(logger->take()));
    CHECK(user_version(path) == current);
    CHECK(schema_of(path) == migrated);
    CHECK((*again)->get_conversation(1)->total_messages == 4);
    CHECK((*again)->get_message(4)->content == "after the upgrade");
  }
}
