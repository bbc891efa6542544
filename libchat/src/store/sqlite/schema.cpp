#include "store/sqlite/schema.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace chat::detail {

namespace {

// Version 1. Conventions: times are INTEGER milliseconds since the epoch;
// metadata-like columns hold compact JSON text; optional text that must be
// unique (handle, client_id) is NULL when absent so that UNIQUE ignores it,
// other optional text is ''.
constexpr const char* kV1 = R"sql(
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  handle TEXT UNIQUE,
  kind TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT 'chat',
  user_id TEXT NOT NULL DEFAULT '',
  external_user_id TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  agent_id INTEGER,
  subject TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active',
  is_archived INTEGER NOT NULL DEFAULT 0,
  is_pinned INTEGER NOT NULL DEFAULT 0,
  is_active INTEGER NOT NULL DEFAULT 1,
  expires_at INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  initial_context TEXT NOT NULL DEFAULT '',
  total_messages INTEGER NOT NULL DEFAULT 0,
  unread_count INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  last_read_message_id INTEGER NOT NULL DEFAULT 0,
  last_message_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE INDEX conversations_user ON conversations(user_id);
CREATE INDEX conversations_kind ON conversations(kind);
CREATE INDEX conversations_subject ON conversations(subject);
CREATE INDEX conversations_external_user ON conversations(external_user_id);
CREATE INDEX conversations_created ON conversations(created_at, id);

-- AUTOINCREMENT: ids are never reused, even after a purge removed the newest
-- rows, because clients hold them as `since` cursors.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  client_id TEXT,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  content_type TEXT NOT NULL DEFAULT 'text',
  message_type TEXT NOT NULL DEFAULT 'text',
  status TEXT NOT NULL DEFAULT 'sent',
  metadata TEXT NOT NULL DEFAULT '{}',
  tokens_used INTEGER,
  processing_time REAL,
  cost REAL,
  -- Lets a page of messages skip the attachment query when it has none.
  attachment_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
-- A deleted message frees its client_id for a new live message.
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_id)
  WHERE client_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE message_attachments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  file_name TEXT NOT NULL DEFAULT '',
  file_type TEXT NOT NULL DEFAULT '',
  file_size INTEGER NOT NULL DEFAULT 0,
  file_path TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id);

-- Full-text index, fed by a background indexer (never by a trigger: a per-row
-- FTS insert costs about 4x on every append). rowid = messages.id.
CREATE VIRTUAL TABLE messages_fts USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');
-- Every message with id <= last_indexed_id is in messages_fts.
CREATE TABLE fts_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_indexed_id INTEGER NOT NULL
);
INSERT INTO fts_state(id, last_indexed_id) VALUES (1, 0);
-- Already-indexed messages whose content changed: re-indexed by the indexer.
CREATE TABLE fts_pending (message_id INTEGER PRIMARY KEY);

CREATE TABLE agents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  system_prompt TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE subjects (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE profiles (
  user_id TEXT PRIMARY KEY,
  work_history TEXT NOT NULL DEFAULT '[]',
  education TEXT NOT NULL DEFAULT '[]',
  projects TEXT NOT NULL DEFAULT '[]',
  skills TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id INTEGER NOT NULL,
  conversation_id INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_conversation ON audit_log(conversation_id, id);
)sql";

// Version 2 (seeds 002/003): analytics group and filter conversations by
// agent (global analytics, top agents). IF NOT EXISTS: re-running the step on a
// database whose user_version was set back (tests do) is harmless.
constexpr const char* kV2 = R"sql(
CREATE INDEX IF NOT EXISTS conversations_agent ON conversations(agent_id) WHERE agent_id IS NOT NULL;
)sql";

// Version 3 (issue 10): the full-text index holds case-folded text
// (chat::fold_case: full Unicode case folding + NFC), so it is rebuilt: the
// indexer starts again from the first message (in the background, and every
// search catches it up first, as for any pending message).
constexpr const char* kV3 = R"sql(
DELETE FROM messages_fts;
DELETE FROM fts_pending;
UPDATE fts_state SET last_indexed_id = 0 WHERE id = 1;
)sql";

// Version 4 (issue 9): every message edit keeps what it replaced. One row
// per edit: the content and metadata as they were before it, when that
// content was written, and who replaced it when (the audit entry
// "message.edit" of the same transaction names the version).
constexpr const char* kV4 = R"sql(
CREATE TABLE IF NOT EXISTS message_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  version INTEGER NOT NULL,
  content TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  written_at INTEGER NOT NULL,
  replaced_at INTEGER NOT NULL,
  replaced_by TEXT NOT NULL DEFAULT '',
  UNIQUE (message_id, version)
);
)sql";

// Version 5 (issue 14): the change log (chat/events.hpp). AUTOINCREMENT:
// event ids are SSE Last-Event-IDs held by clients, so they are never reused,
// even after a trim or a purge removed the newest rows; one writer makes id
// order commit order. `data` is the snapshot of the row as the change left it
// (compact JSON, written and read only by libchat: store/event_snapshot.hpp).
// One meta row keeps the trim floor: the largest id trim_events removed.
constexpr const char* kV5 = R"sql(
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  message_id INTEGER,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_conversation ON events(conversation_id, id);
CREATE TABLE IF NOT EXISTS event_log_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  trim_floor INTEGER NOT NULL
);
INSERT OR IGNORE INTO event_log_state(id, trim_floor) VALUES (1, 0);
)sql";

// Version 6 (issue 11): each message keeps its content's token count and
// the counter that made it (TokenCounter::counter_id()), written with the
// message, so that a reply's context window reads counts instead of counting
// its history again on every request. NULL: not counted (rows older than this
// step, system and failed messages, content edited without a new count); a
// window counts those itself. No index: the window reads them by the
// messages_conversation index it walks anyway. (Independent of step 5, the
// event log of issue 14.)
void add_token_columns(SQLite::Database& db) {
  bool has_count = false, has_counter = false;
  SQLite::Statement cols(db, "SELECT name FROM pragma_table_info('messages')");
  while (cols.executeStep()) {
    const std::string name = cols.getColumn(0).getString();
    has_count |= name == "token_count";
    has_counter |= name == "token_counter";
  }
  if (!has_count) db.exec("ALTER TABLE messages ADD COLUMN token_count INTEGER");
  if (!has_counter) db.exec("ALTER TABLE messages ADD COLUMN token_counter TEXT");
}


// Version 7 (issue 11): seed 003 analytics in bounded memory and time. The
// figures are sums, so they are kept as sums, in the writer's transaction of
// every write path (the append by the store's insert, soft delete, restore,
// clear, purge and status edits by triggers on `messages`): the figures are
// exact at every commit. The step also computes them for the rows already
// there (bench/chat_bench.cpp runs it again after loading rows by plain SQL).
//
// The "live chain" of a conversation is its live messages in id order; its
// links are consecutive pairs. A link's gap is the later message's
// created_at minus the earlier one's; a reply link is a pair of consecutive
// live non-system messages, user then assistant or agent.
// - conversations.activity_*: per conversation, live messages, live assistant
//   messages (and of those failed), the sum of the gaps of the live chain
//   (= last - first), reply links and the sum of their gaps. Columns of the
//   conversation row, not a table: the append updates that row anyway, so
//   the sums cost it no page of its own (one WAL frame less per commit).
// - activity_days: live messages per conversation and UTC day (floor of
//   created_at / 86400000), for daily_stats.
// - activity_gaps: every link whose gap is over 60 s, keyed by the later
//   message, for activity periods (ServiceOptions::activity_gap >= 60 s
//   reads this table; a smaller gap walks the messages).
// - messages_live: the live chain, so that a neighbour lookup never walks
//   deleted rows (a cleared conversation of a million messages).
// A message becoming live (restore) is linked between its live neighbours p
// and n; one leaving (soft delete, clear, purge) is unlinked. An append is
// linked by the store's insert itself (Messages::insert, the one INSERT INTO
// messages: the new row is the newest live one, so it has no next neighbour),
// in the same transaction, with the statements the append already runs;
// a trigger did it at 5-6 us per statement (bench/README.md). So a row
// inserted by plain SQL outside the store is not counted.
// Role, created_at and conversation_id never change after insert.
// The statements that link (sign +1) or unlink (sign -1) message `m`
// (NEW or OLD in a trigger) into its conversation's live chain. Unlinking
// sees the chain without m, as linking did before m: so one delta formula
// serves both, with the sign flipped.
std::string chain_update(const char* m, int sign) {
  const std::string conv = fmt::format("{}.conversation_id", m);
  auto neighbour = [&](const char* col, const char* cmp, const char* order, bool non_system) {
    return fmt::format(
        "(SELECT {} FROM messages WHERE conversation_id = {} AND deleted_at IS NULL AND id {} {}.id{} "
        "ORDER BY id {} LIMIT 1)",
        col, conv, cmp, m, non_system ? " AND role <> 'system'" : "", order);
  };
  const std::string p_at = neighbour("created_at", "<", "DESC", false);
  const std::string n_at = neighbour("created_at", ">", "ASC", false);
  const std::string n_id = neighbour("id", ">", "ASC", false);
  auto pair = [](const std::string& ar, const std::string& aa, const std::string& br, const std::string& ba) {
    return fmt::format("(CASE WHEN {} = 'user' AND {} IN ('assistant', 'agent') THEN {} - {} END)", ar, br, ba, aa);
  };
  const std::string mr = fmt::format("{}.role", m);
  const std::string ma = fmt::format("{}.created_at", m);
  const std::string old_pair = pair("x.pr", "x.pa", "x.nr", "x.na");
  const std::string new1 = pair("x.pr", "x.pa", mr, ma);
  const std::string new2 = pair(mr, ma, "x.nr", "x.na");
  std::string sql = fmt::format(
      "UPDATE conversations SET activity_messages = activity_messages + {s}, "
      "activity_assistant = activity_assistant + {s} * ({m}.role = 'assistant'), "
      "activity_failed = activity_failed + {s} * ({m}.role = 'assistant' AND {m}.status = 'failed'), "
      "activity_gap_ms = activity_gap_ms + {s} * (CASE WHEN x.p_at IS NOT NULL AND x.n_at IS NULL THEN {ma} - x.p_at "
      "WHEN x.p_at IS NULL AND x.n_at IS NOT NULL THEN x.n_at - {ma} ELSE 0 END), "
      "activity_replies = activity_replies + CASE WHEN {m}.role = 'system' THEN 0 ELSE {s} * (({new1} IS NOT NULL) + ({new2} IS NOT NULL) - ({old} IS NOT NULL)) END, "
      "activity_reply_ms = activity_reply_ms + CASE WHEN {m}.role = 'system' THEN 0 ELSE {s} * (COALESCE({new1}, 0) + COALESCE({new2}, 0) - COALESCE({old}, 0)) END "
      "FROM (SELECT {p_at} AS p_at, {n_at} AS n_at, {pr} AS pr, {pa} AS pa, {nr} AS nr, {na} AS na) AS x "
      "WHERE conversations.id = {conv};\n",
      fmt::arg("conv", conv), fmt::arg("s", sign), fmt::arg("m", m), fmt::arg("ma", ma), fmt::arg("new1", new1),
      fmt::arg("new2", new2), fmt::arg("old", old_pair), fmt::arg("p_at", p_at), fmt::arg("n_at", n_at),
      fmt::arg("pr", neighbour("role", "<", "DESC", true)), fmt::arg("pa", neighbour("created_at", "<", "DESC", true)),
      fmt::arg("nr", neighbour("role", ">", "ASC", true)), fmt::arg("na", neighbour("created_at", ">", "ASC", true)));
  sql += fmt::format(
      "INSERT INTO activity_days (conversation_id, day, messages) VALUES ({}, {}, {}) "
      "ON CONFLICT (conversation_id, day) DO UPDATE SET messages = messages + excluded.messages;\n",
      conv, fmt::format("(CASE WHEN {0} >= 0 THEN {0} / 86400000 ELSE ({0} - 86399999) / 86400000 END)", ma), sign);
  if (sign > 0) {
    sql += fmt::format("DELETE FROM activity_gaps WHERE message_id = {};\n", n_id);
    sql += fmt::format(
        "INSERT OR REPLACE INTO activity_gaps (message_id, conversation_id, gap_ms) "
        "SELECT {m}.id, {conv}, g FROM (SELECT {ma} - {p_at} AS g) WHERE g > 60000;\n",
        fmt::arg("m", m), fmt::arg("conv", conv), fmt::arg("ma", ma), fmt::arg("p_at", p_at));
    sql += fmt::format(
        "INSERT OR REPLACE INTO activity_gaps (message_id, conversation_id, gap_ms) "
        "SELECT n_id, {conv}, n_at - {ma} FROM (SELECT {n_id} AS n_id, {n_at} AS n_at) "
        "WHERE n_id IS NOT NULL AND n_at - {ma} > 60000;\n",
        fmt::arg("conv", conv), fmt::arg("ma", ma), fmt::arg("n_id", n_id), fmt::arg("n_at", n_at));
  } else {
    sql += fmt::format("DELETE FROM activity_gaps WHERE message_id = {}.id OR message_id = {};\n", m, n_id);
    sql += fmt::format(
        "INSERT OR REPLACE INTO activity_gaps (message_id, conversation_id, gap_ms) "
        "SELECT n_id, {conv}, n_at - p_at FROM (SELECT {n_id} AS n_id, {n_at} AS n_at, {p_at} AS p_at) "
        "WHERE n_id IS NOT NULL AND p_at IS NOT NULL AND n_at - p_at > 60000;\n",
        fmt::arg("conv", conv), fmt::arg("n_id", n_id), fmt::arg("n_at", n_at), fmt::arg("p_at", p_at));
  }
  return sql;
}

const std::string& v7_sql() {
  static const std::string sql = R"sql(
CREATE INDEX IF NOT EXISTS messages_live ON messages(conversation_id, id) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS activity_days (
  conversation_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activity_gaps (
  message_id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL,
  gap_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_gaps_conversation ON activity_gaps(conversation_id, gap_ms);
DROP TRIGGER IF EXISTS messages_activity_append;
DROP TRIGGER IF EXISTS messages_activity_insert;
DROP TRIGGER IF EXISTS messages_activity_restore;
DROP TRIGGER IF EXISTS messages_activity_delete;
DROP TRIGGER IF EXISTS messages_activity_purge;
DROP TRIGGER IF EXISTS messages_activity_status;
DROP TRIGGER IF EXISTS conversations_activity_purge;

UPDATE conversations SET activity_messages = 0, activity_assistant = 0, activity_failed = 0, activity_gap_ms = 0,
  activity_replies = 0, activity_reply_ms = 0;
DELETE FROM activity_days;
DELETE FROM activity_gaps;
UPDATE conversations SET activity_messages = s.messages, activity_assistant = s.assistant, activity_failed = s.failed,
  activity_gap_ms = s.gap_ms, activity_replies = s.replies, activity_reply_ms = s.reply_ms
FROM (
WITH links AS (
  SELECT conversation_id, role, status, created_at,
         created_at - LAG(created_at) OVER (PARTITION BY conversation_id ORDER BY id) AS gap
  FROM messages WHERE deleted_at IS NULL),
ns AS (
  SELECT conversation_id, role, created_at - LAG(created_at) OVER w AS gap, LAG(role) OVER w AS prev_role
  FROM messages WHERE deleted_at IS NULL AND role <> 'system'
  WINDOW w AS (PARTITION BY conversation_id ORDER BY id)),
replies AS (
  SELECT conversation_id, COUNT(*) AS n, SUM(gap) AS ms FROM ns
  WHERE prev_role = 'user' AND role IN ('assistant', 'agent') GROUP BY conversation_id),
per AS (
  SELECT conversation_id, COUNT(*) AS messages, SUM(role = 'assistant') AS assistant,
         SUM(role = 'assistant' AND status = 'failed') AS failed, COALESCE(SUM(gap), 0) AS gap_ms
  FROM links GROUP BY conversation_id)
SELECT per.conversation_id AS conversation_id, per.messages AS messages, per.assistant AS assistant,
       per.failed AS failed, per.gap_ms AS gap_ms, COALESCE(replies.n, 0) AS replies, COALESCE(replies.ms, 0) AS reply_ms
FROM per LEFT JOIN replies ON replies.conversation_id = per.conversation_id) AS s
WHERE conversations.id = s.conversation_id;
INSERT INTO activity_days (conversation_id, day, messages)
SELECT conversation_id, CASE WHEN created_at >= 0 THEN created_at / 86400000 ELSE (created_at - 86399999) / 86400000 END AS d,
       COUNT(*)
FROM messages WHERE deleted_at IS NULL GROUP BY conversation_id, d;
INSERT INTO activity_gaps (message_id, conversation_id, gap_ms)
SELECT id, conversation_id, gap FROM (
  SELECT id, conversation_id, created_at - LAG(created_at) OVER (PARTITION BY conversation_id ORDER BY id) AS gap
  FROM messages WHERE deleted_at IS NULL)
WHERE gap > 60000;

CREATE TRIGGER messages_activity_restore AFTER UPDATE OF deleted_at ON messages
WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
)sql" + chain_update("NEW", 1) + R"sql(
END;
CREATE TRIGGER messages_activity_delete AFTER UPDATE OF deleted_at ON messages
WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL
BEGIN
)sql" + chain_update("OLD", -1) + R"sql(
END;
CREATE TRIGGER messages_activity_purge AFTER DELETE ON messages WHEN OLD.deleted_at IS NULL
BEGIN
)sql" + chain_update("OLD", -1) + R"sql(
END;
CREATE TRIGGER messages_activity_status AFTER UPDATE OF status ON messages
WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NULL AND NEW.role = 'assistant'
  AND (OLD.status = 'failed') <> (NEW.status = 'failed')
BEGIN
  UPDATE conversations SET activity_failed = activity_failed + (NEW.status = 'failed') - (OLD.status = 'failed')
  WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER conversations_activity_purge AFTER DELETE ON conversations
BEGIN
  DELETE FROM activity_days WHERE conversation_id = OLD.id;
  DELETE FROM activity_gaps WHERE conversation_id = OLD.id;
END;
)sql";
  return sql;
}

// Step 7 as a whole: the columns first (ALTER TABLE ADD COLUMN has no IF
// NOT EXISTS), then v7_sql, which computes the sums of the rows there.
void add_activity_sums(SQLite::Database& db) {
  static constexpr const char* kColumns[] = {"activity_messages", "activity_assistant", "activity_failed",
                                             "activity_gap_ms",   "activity_replies",   "activity_reply_ms"};
  std::vector<std::string> have;
  SQLite::Statement cols(db, "SELECT name FROM pragma_table_info('conversations')");
  while (cols.executeStep()) have.push_back(cols.getColumn(0).getString());
  for (const char* c : kColumns)
    if (std::find(have.begin(), have.end(), c) == have.end())
      db.exec(fmt::format("ALTER TABLE conversations ADD COLUMN {} INTEGER NOT NULL DEFAULT 0", c));
  db.exec(v7_sql());
}

// Version 8 (issue 11): the full-text index also holds each message's scope
// as tokens of a second column: "c<conversation id> u<HEX(owner)>"
// (ownership never changes). A caller-scoped search ANDs its words
// with those tokens, so FTS5 intersects the doclists instead of visiting
// every match of a common word and dropping the ones of other owners. The
// index is rebuilt as for version 3.
constexpr const char* kV8 = R"sql(
DROP TABLE IF EXISTS messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(content, scope, tokenize = 'unicode61 remove_diacritics 2');
DELETE FROM fts_pending;
UPDATE fts_state SET last_indexed_id = 0 WHERE id = 1;
)sql";

// Version 9 (issue 11): the scope tokens of version 8 still made FTS5 walk a
// common word's whole doclist (an AND of word and scope token is walked
// entry by entry in rowid order). Now each word is indexed once more per
// scope, as "<scope>\x1F<word>" (store/sqlite/scoped_tokenizer.hpp), in the
// one content column, and a scoped search looks those terms up directly.
// The index is rebuilt as for version 3.
constexpr const char* kV9 = R"sql(
DROP TABLE IF EXISTS messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(content, tokenize = 'chat_scoped unicode61 remove_diacritics 2');
DELETE FROM fts_pending;
UPDATE fts_state SET last_indexed_id = 0 WHERE id = 1;
)sql";

}  // namespace

const std::vector<SqliteMigration>& sqlite_migrations() {
  static const std::vector<SqliteMigration> steps{
      {1, kV1},
      {2, kV2},
      {3, kV3},
      {4, kV4},
      {5, kV5},
      {6, "", add_token_columns},
      {7, "", add_activity_sums},
      {8, kV8},
      {9, kV9},
  };
  return steps;
}

Status migrate_sqlite_schema(SQLite::Database& db, const std::function<void(LogLevel, const std::string&)>& log) {
  const auto& steps = sqlite_migrations();
  const int known = steps.empty() ? 0 : steps.back().version;
  int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > known) {
    return Error::internal(fmt::format(
        "the database schema is version {}, newer than this libchat knows ({}); upgrade libchat", version, known));
  }
  if (version == 0 && db.execAndGet("SELECT COUNT(*) FROM sqlite_master").getInt64() > 0)
    return Error::internal("the file is a SQLite database but not a libchat one");
  for (const auto& step : steps) {
    if (step.version <= version) continue;
    SQLite::Transaction tx(db);
    db.exec(step.sql);
    if (step.apply != nullptr) step.apply(db);
    db.exec(fmt::format("PRAGMA user_version = {}", step.version));
    tx.commit();
    log(LogLevel::kInfo, fmt::format("sqlite store: migrated schema to version {}", step.version));
    version = step.version;
  }
  return {};
}

}  // namespace chat::detail
