// Issue 11: the dashboard sums the store keeps on write
// (Store::activity_summary, schema step 7) give the same dashboard as the
// in-memory computation over every live row (detail::dashboard_of, kept as
// the oracle), after random appends, soft deletes, restores, clears,
// conversation deletes, status edits and purges; a database migrated to
// step 7 with rows in it gets the same sums; activity_totals agrees with the
// rows.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chat/sqlite_store.hpp"
#include "service/analytics.hpp"
#include "store/sqlite/search_index.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::TempDir;

namespace {

constexpr std::int64_t kT0 = 1'719'655'200'000;  // 2024-06-29T10:00:00Z
const std::vector<std::string> kUsers{"u1", "u2", ""};

// Averages are rounded (0.001 s, 0.01 min); the oracle sums floating-point
// seconds and minutes, the sums whole milliseconds, so on an exact tie of
// the rounding the two may land one unit apart. Everything else is exact.
void check_same(const Dashboard& got, const Dashboard& want) {
  CHECK(got.total_conversations == want.total_conversations);
  CHECK(got.total_messages == want.total_messages);
  REQUIRE(got.average_response_time.has_value() == want.average_response_time.has_value());
  if (want.average_response_time) CHECK(std::abs(*got.average_response_time - *want.average_response_time) < 0.0011);
  REQUIRE(got.most_active_agent.has_value() == want.most_active_agent.has_value());
  if (want.most_active_agent) {
    CHECK(got.most_active_agent->agent_id == want.most_active_agent->agent_id);
    CHECK(got.most_active_agent->message_count == want.most_active_agent->message_count);
  }
  REQUIRE(got.daily_stats.size() == want.daily_stats.size());
  for (std::size_t i = 0; i < want.daily_stats.size(); ++i) {
    CHECK(got.daily_stats[i].date == want.daily_stats[i].date);
    CHECK(got.daily_stats[i].conversations == want.daily_stats[i].conversations);
    CHECK(got.daily_stats[i].messages == want.daily_stats[i].messages);
  }
  CHECK(got.total_activity_periods == want.total_activity_periods);
  REQUIRE(got.average_activity_period_minutes.has_value() == want.average_activity_period_minutes.has_value());
  if (want.average_activity_period_minutes)
    CHECK(std::abs(*got.average_activity_period_minutes - *want.average_activity_period_minutes) < 0.011);
}

// Every user's dashboard, for several windows and gaps (10 s takes the
// walk over the messages, the others the kept long links), against the oracle.
void check_dashboards(Store& s, Timestamp now) {
  for (const auto& user : kUsers) {
    ActivityQuery aq;
    aq.user_id = user;
    aq.kind = ConversationKind::kSupport;
    auto log = s.activity(aq);
    REQUIRE(log.ok());
    for (auto gap : {std::chrono::milliseconds(10'000), std::chrono::milliseconds(60'000),
                     std::chrono::milliseconds(300'000), std::chrono::milliseconds(1'800'000)}) {
      for (std::int64_t days : {1, 7, 30}) {
        INFO("user '" << user << "' gap " << gap.count() << " ms, " << days << " days");
        auto sum = s.activity_summary(detail::dashboard_summary_query(user, days, now, gap));
        REQUIRE(sum.ok());
        check_same(detail::dashboard_from(*sum, days, now), detail::dashboard_of(*log, days, now, gap));
      }
    }
  }
}

// activity_totals against the rows: live messages and per-agent replies.
void check_totals(Store& s) {
  ActivityQuery aq;
  aq.kind = ConversationKind::kSupport;
  auto log = s.activity(aq);
  REQUIRE(log.ok());
  auto t = s.activity_totals(ConversationKind::kSupport);
  REQUIRE(t.ok());
  CHECK(t->messages == static_cast<std::int64_t>(log->messages.size()));
  std::map<std::int64_t, std::int64_t> agent_of;
  for (const auto& c : log->conversations)
    if (c.agent_id) agent_of[c.id] = *c.agent_id;
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> replies;  // agent -> (replies, failed)
  for (const auto& m : log->messages) {
    auto it = agent_of.find(m.conversation_id);
    if (m.role != Role::kAssistant || it == agent_of.end()) continue;
    ++replies[it->second].first;
    if (m.status == MessageStatus::kFailed) ++replies[it->second].second;
  }
  for (const auto& a : t->agents) {
    INFO("agent " << a.agent_id);
    CHECK(a.replies == replies[a.agent_id].first);
    CHECK(a.failed_replies == replies[a.agent_id].second);
  }
}

// Random traffic over a few users' support conversations (and one session
// conversation, never in a dashboard), times non-decreasing as the store
// writes them, with idle gaps from a millisecond to hours.
class Traffic {
 public:
  Traffic(Store& s, unsigned seed) : s_(s), rng_(seed) {
    for (int i = 0; i < 3; ++i) {
      Agent a;
      a.name = "persona " + std::to_string(i);
      auto r = s_.put_agent(a, from_millis(now_));
      REQUIRE(r.ok());
      agents_.push_back(r->id);
    }
  }

  Timestamp now() const { return from_millis(now_); }

  void step() {
    const int op = pick(100);
    if (convs_.empty() || op < 6) return create();
    const std::int64_t conv = convs_[static_cast<std::size_t>(pick(static_cast<int>(convs_.size())))];
    const AuditContext audit{"t", from_millis(now_)};
    if (op < 70) return append(conv);
    if (op < 80 && !live_.empty()) {
      const auto i = static_cast<std::size_t>(pick(static_cast<int>(live_.size())));
      if (s_.soft_delete_message(live_[i], audit).ok()) deleted_.push_back(live_[i]);
      live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    if (op < 87 && !deleted_.empty()) {
      const auto i = static_cast<std::size_t>(pick(static_cast<int>(deleted_.size())));
      if (s_.restore_message(deleted_[i], audit).ok()) live_.push_back(deleted_[i]);
      deleted_.erase(deleted_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    if (op < 90 && !live_.empty()) {
      MessagePatch p;
      p.status = pick(2) ? MessageStatus::kFailed : MessageStatus::kSent;
      (void)s_.update_message(live_[static_cast<std::size_t>(pick(static_cast<int>(live_.size())))], p, audit);
      return;
    }
    if (op < 92) {
      (void)s_.clear_conversation(conv, audit);
      return;
    }
    if (op < 95) {
      (void)s_.soft_delete_conversation(conv, audit);
      return;
    }
    if (op < 98) {
      (void)s_.restore_conversation(conv, audit);
      return;
    }
    // Removes what is soft-deleted so far (messages of deleted
    // conversations too, live or not), as retention does.
    REQUIRE(s_.purge(from_millis(now_ + 1), audit).ok());
    now_ += 2;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  void create() {
    NewConversation c;
    c.kind = pick(8) == 0 ? ConversationKind::kSession : ConversationKind::kSupport;
    c.user_id = kUsers[static_cast<std::size_t>(pick(static_cast<int>(kUsers.size())))];
    if (pick(4) != 0) c.agent_id = agents_[static_cast<std::size_t>(pick(static_cast<int>(agents_.size())))];
    auto r = s_.create_conversation(c, from_millis(now_));
    REQUIRE(r.ok());
    convs_.push_back(r->id);
  }

  void append(std::int64_t conv) {
    static constexpr std::int64_t kGaps[] = {0, 1, 700, 9'000, 45'000, 61'000, 200'000, 2'000'000, 30'000'000};
    now_ += kGaps[pick(9)] + pick(3);
    NewMessage m;
    static constexpr Role kRoles[] = {Role::kUser, Role::kUser, Role::kAssistant, Role::kAssistant, Role::kAgent,
                                      Role::kSystem};
    m.role = kRoles[pick(6)];
    m.content = "m";
    m.status = pick(5) == 0 ? MessageStatus::kFailed : MessageStatus::kSent;
    auto r = s_.append_message(conv, m, from_millis(now_));
    if (r.ok()) live_.push_back(r->message.id);  // a deleted conversation refuses
  }

  Store& s_;
  std::mt19937 rng_;
  std::int64_t now_ = kT0 - 20LL * 86'400'000;
  std::vector<std::int64_t> agents_;
  std::vector<std::int64_t> convs_;
  std::vector<std::int64_t> live_;
  std::vector<std::int64_t> deleted_;
};

}  // namespace

TEST_CASE("activity_summary equals the in-memory figures under random traffic", "[store][analytics][issue11]") {
  for (const auto& factory : chat::testing::store_factories()) {
    for (unsigned seed : {1u, 2u, 3u}) {
      DYNAMIC_SECTION(factory << " seed " << seed) {
        TempDir dir;
        auto s = chat::testing::open_test_store(factory, dir);
        Traffic t(*s, seed);
        for (int round = 0; round < 6; ++round) {
          for (int i = 0; i < 120; ++i) t.step();
          check_dashboards(*s, t.now());
          check_totals(*s);
        }
      }
    }
  }
}

TEST_CASE("schema steps 7 to 9 upgrade a version-6 database with rows in it", "[store][analytics][migration][sqlite]") {
  TempDir dir;
  const std::string path = dir.file("chat.db");
  Timestamp now{};
  std::int64_t events = 0;
  {
    SqliteOptions o;
    o.path = path;
    auto s = open_sqlite_store(o);
    REQUIRE(s.ok());
    Traffic t(**s, 7);
    for (int i = 0; i < 400; ++i) t.step();
    now = t.now();
    auto last = (*s)->last_event_id();
    REQUIRE(last.ok());
    events = *last;
    REQUIRE(events > 0);
  }
  {
    // Back to what version 6 (main before issue 11's steps 7 and 8) left on
    // disk: no sums, triggers or live-chain index, a one-column search
    // index holding every message. The rows, the event log (step 5) and the
    // token counts (step 6) stay as the real write path wrote them.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    sqlite::register_search_functions(db);  // the index's tokenizer, to drop the index
    for (const char* trigger : {"messages_activity_restore", "messages_activity_delete", "messages_activity_purge",
                                "messages_activity_status", "conversations_activity_purge"})
      db.exec(std::string("DROP TRIGGER ") + trigger);
    db.exec("DROP INDEX messages_live");
    for (const char* column : {"activity_messages", "activity_assistant", "activity_failed", "activity_gap_ms",
                               "activity_replies", "activity_reply_ms"})
      db.exec(std::string("ALTER TABLE conversations DROP COLUMN ") + column);
    db.exec("DROP TABLE activity_days");
    db.exec("DROP TABLE activity_gaps");
    db.exec("DROP TABLE messages_fts");
    db.exec("CREATE VIRTUAL TABLE messages_fts USING fts5(content, tokenize = 'unicode61 remove_diacritics 2')");
    db.exec("INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages");
    db.exec("UPDATE fts_state SET last_indexed_id = (SELECT COALESCE(MAX(id), 0) FROM messages)");
    db.exec("DELETE FROM fts_pending");
    db.exec("PRAGMA user_version = 6");
  }
  SqliteOptions o;
  o.path = path;
  auto s = open_sqlite_store(o);
  REQUIRE(s.ok());
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == 9);
  }
  check_dashboards(**s, now);
  check_totals(**s);
  CHECK((*s)->last_event_id().value() == events);

  // Step 9 rebuilt the search index with scoped words: a scoped search
  // finds exactly the live in-scope matches the rows hold.
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    SQLite::Statement pick(db,
                           "SELECT m.conversation_id, c.user_id, m.content FROM messages m JOIN conversations c "
                           "ON c.id = m.conversation_id WHERE m.deleted_at IS NULL AND c.deleted_at IS NULL "
                           "ORDER BY m.id DESC LIMIT 1");
    REQUIRE(pick.executeStep());
    const std::int64_t conversation = pick.getColumn(0).getInt64();
    const std::string user = pick.getColumn(1).getString();
    const std::string content = pick.getColumn(2).getString();
    const auto space = content.find(' ');
    const std::string word = content.substr(0, space);
    REQUIRE_FALSE(word.empty());
    SearchQuery q;
    q.text = word;
    q.conversation_id = conversation;
    q.limit = 100;
    auto hits = (*s)->search_messages(q);
    REQUIRE(hits.ok());
    REQUIRE_FALSE(hits->items.empty());
    for (const auto& h : hits->items) CHECK(h.message.conversation_id == conversation);
    q.conversation_id.reset();
    q.user_id = user;
    hits = (*s)->search_messages(q);
    REQUIRE(hits.ok());
    REQUIRE_FALSE(hits->items.empty());
  }

  // The upgraded file has exactly the objects a new file gets.
  auto objects = [](const std::string& file) {
    SQLite::Database db(file, SQLite::OPEN_READONLY);
    SQLite::Statement st(db, "SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                             "ORDER BY type, name");
    std::vector<std::string> out;
    while (st.executeStep())
      out.push_back(st.getColumn(0).getString() + " " + st.getColumn(1).getString() + " " + st.getColumn(2).getString());
    return out;
  };
  SqliteOptions fresh;
  fresh.path = dir.file("fresh.db");
  REQUIRE(open_sqlite_store(fresh).ok());
  CHECK(objects(path) == objects(fresh.path));

  // Writes after the upgrade keep the sums exact.
  Traffic t(**s, 8);
  for (int i = 0; i < 100; ++i) t.step();
  check_dashboards(**s, t.now());
  check_totals(**s);
}

TEST_CASE("activity_summary refuses a day window over 366 days", "[store][analytics]") {
  auto s = chat::testing::open_default_test_store();
  ActivitySummaryQuery q;
  q.first_day = 0;
  q.last_day = 366;
  auto r = s->activity_summary(q);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
}

TEST_CASE("analytics reads run alongside other reads on a small reader pool", "[store][analytics][concurrency][sqlite]") {
  // Two readers: one analytics read at a time (Database::heavy_limit), the
  // other connection stays for everything else; every call still answers.
  TempDir dir;
  SqliteOptions o;
  o.path = dir.file("chat.db");
  o.reader_connections = 2;
  auto opened = open_sqlite_store(o);
  REQUIRE(opened.ok());
  auto& s = **opened;
  Traffic t(s, 5);
  for (int i = 0; i < 300; ++i) t.step();
  const auto q = detail::dashboard_summary_query("u1", 7, t.now(), std::chrono::minutes(30));
  auto want = s.activity_summary(q);
  REQUIRE(want.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 6; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto r = s.activity_summary(q);
        if (!r.ok() || r->messages != want->messages || r->activity_periods != want->activity_periods) ++failures;
        if (!s.activity_totals(ConversationKind::kSupport).ok()) ++failures;
      }
    });
  threads.emplace_back([&] {
    for (int i = 0; i < 100; ++i)
      if (!s.get_conversation(1, true).ok() && !s.last_message_id().ok()) ++failures;
  });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
}
