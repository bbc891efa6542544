#include "store/sqlite/schema.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

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

}  // namespace

const std::vector<SqliteMigration>& sqlite_migrations() {
  static const std::vector<SqliteMigration> steps{
      {1, kV1},
      {2, kV2},
      {3, kV3},
      {4, kV4},
      {5, kV5},
      {6, "", add_token_columns},
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
