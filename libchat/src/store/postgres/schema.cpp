#include "store/postgres/schema.hpp"

#include <fmt/format.h>

#include "store/postgres/database.hpp"

namespace chat::pg {

namespace {

// Version 1: the schema of the SQLite store at its step 8, in PostgreSQL
// terms. Conventions as there: times are BIGINT milliseconds since the epoch,
// flags 0/1 integers, JSON columns compact text, unique optional text NULL
// when absent. Ids come from sequences (never reused: clients hold them as
// cursors) and, for messages and events, are drawn only under the
// conversation's row lock (database.hpp, "Cursors"). Constraint names say
// the field a violation is reported on (database.cpp).
//
// Search (no background indexer): messages.search_tsv holds
// to_tsvector('simple', text) of the content case folded by chat::fold_case
// and stripped of combining marks in C++ (search_index.cpp), written by the
// same statement that writes the content, with a GIN index.
//
// Analytics are computed at read time (activity.cpp); the partial index
// messages_live keeps their scans and the context window on live rows.
constexpr const char* kV1 = R"sql(
CREATE SEQUENCE conversations_id_seq;
CREATE TABLE conversations (
  id BIGINT PRIMARY KEY DEFAULT nextval('conversations_id_seq'),
  uuid TEXT NOT NULL CONSTRAINT conversations_uuid_key UNIQUE,
  handle TEXT CONSTRAINT conversations_handle_key UNIQUE,
  kind TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT 'chat',
  user_id TEXT NOT NULL DEFAULT '',
  external_user_id TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  agent_id BIGINT,
  subject TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active',
  is_archived INTEGER NOT NULL DEFAULT 0,
  is_pinned INTEGER NOT NULL DEFAULT 0,
  is_active INTEGER NOT NULL DEFAULT 1,
  expires_at BIGINT,
  metadata TEXT NOT NULL DEFAULT '{}',
  initial_context TEXT NOT NULL DEFAULT '',
  total_messages BIGINT NOT NULL DEFAULT 0,
  unread_count BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0,
  last_read_message_id BIGINT NOT NULL DEFAULT 0,
  last_message_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT,
  -- chat::fold_case of handle, external_user_id and title joined by U+0001
  -- (never in a filter text): list_conversations' search (conversations.cpp).
  folded TEXT NOT NULL DEFAULT ''
);
ALTER SEQUENCE conversations_id_seq OWNED BY conversations.id;
CREATE INDEX conversations_user ON conversations(user_id);
CREATE INDEX conversations_kind ON conversations(kind);
CREATE INDEX conversations_subject ON conversations(subject);
CREATE INDEX conversations_external_user ON conversations(external_user_id);
CREATE INDEX conversations_created ON conversations(created_at, id);
CREATE INDEX conversations_agent ON conversations(agent_id) WHERE agent_id IS NOT NULL;

CREATE SEQUENCE messages_id_seq;
CREATE TABLE messages (
  id BIGINT PRIMARY KEY DEFAULT nextval('messages_id_seq'),
  uuid TEXT NOT NULL CONSTRAINT messages_uuid_key UNIQUE,
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  client_id TEXT,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  content_type TEXT NOT NULL DEFAULT 'text',
  message_type TEXT NOT NULL DEFAULT 'text',
  status TEXT NOT NULL DEFAULT 'sent',
  metadata TEXT NOT NULL DEFAULT '{}',
  tokens_used BIGINT,
  processing_time DOUBLE PRECISION,
  cost DOUBLE PRECISION,
  attachment_count BIGINT NOT NULL DEFAULT 0,
  token_count BIGINT,
  token_counter TEXT,
  -- chat::fold_case(content): list_messages' search, a literal substring.
  content_folded TEXT NOT NULL,
  search_tsv TSVECTOR NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);
ALTER SEQUENCE messages_id_seq OWNED BY messages.id;
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_live ON messages(conversation_id, id) WHERE deleted_at IS NULL;
-- A deleted message frees its client_id for a new live message.
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_id)
  WHERE client_id IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX messages_search ON messages USING GIN (search_tsv);

CREATE TABLE message_attachments (
  id BIGSERIAL PRIMARY KEY,
  message_id BIGINT NOT NULL REFERENCES messages(id),
  file_name TEXT NOT NULL DEFAULT '',
  file_type TEXT NOT NULL DEFAULT '',
  file_size BIGINT NOT NULL DEFAULT 0,
  file_path TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id);

CREATE TABLE message_versions (
  id BIGSERIAL PRIMARY KEY,
  message_id BIGINT NOT NULL REFERENCES messages(id),
  version BIGINT NOT NULL,
  content TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  written_at BIGINT NOT NULL,
  replaced_at BIGINT NOT NULL,
  replaced_by TEXT NOT NULL DEFAULT '',
  UNIQUE (message_id, version)
);

CREATE SEQUENCE agents_id_seq;
CREATE TABLE agents (
  id BIGINT PRIMARY KEY DEFAULT nextval('agents_id_seq'),
  name TEXT NOT NULL,
  system_prompt TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
ALTER SEQUENCE agents_id_seq OWNED BY agents.id;

CREATE TABLE subjects (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE profiles (
  user_id TEXT PRIMARY KEY,
  work_history TEXT NOT NULL DEFAULT '[]',
  education TEXT NOT NULL DEFAULT '[]',
  projects TEXT NOT NULL DEFAULT '[]',
  skills TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id BIGINT NOT NULL,
  conversation_id BIGINT NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_conversation ON audit_log(conversation_id, id);

CREATE SEQUENCE events_id_seq;
CREATE TABLE events (
  id BIGINT PRIMARY KEY DEFAULT nextval('events_id_seq'),
  conversation_id BIGINT NOT NULL,
  type TEXT NOT NULL,
  message_id BIGINT,
  at BIGINT NOT NULL,
  data TEXT NOT NULL
);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_conversation ON events(conversation_id, id);
CREATE TABLE event_log_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  trim_floor BIGINT NOT NULL
);
INSERT INTO event_log_state(id, trim_floor) VALUES (1, 0);
-- The largest message and event ids a purge removed: last_message_id and
-- last_event_id are the largest ids ever committed, and ids drawn by a
-- transaction that rolled back are not (as SQLite's AUTOINCREMENT), so the
-- heads are MAX(id) of the rows and of these marks.
CREATE TABLE id_marks (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  purged_message_id BIGINT NOT NULL,
  purged_event_id BIGINT NOT NULL
);
INSERT INTO id_marks(id, purged_message_id, purged_event_id) VALUES (1, 0, 0);
)sql";

}  // namespace

const std::vector<PostgresMigration>& postgres_migrations() {
  static const std::vector<PostgresMigration> steps{
      {1, kV1},
  };
  return steps;
}

Status migrate_postgres_schema(Conn& c, const std::function<void(LogLevel, const std::string&)>& log) {
  const auto& steps = postgres_migrations();
  const int known = steps.empty() ? 0 : steps.back().version;
  c.run("BEGIN");
  try {
    c.exec("SELECT pg_advisory_xact_lock($1)", Params().add(kMigrationLock));
    int version = 0;
    const Rows has = c.exec("SELECT to_regclass('chat_schema_version') IS NOT NULL, "
                            "to_regclass('conversations') IS NOT NULL OR to_regclass('messages') IS NOT NULL");
    if (!has.flag(0, 0)) {
      if (has.flag(0, 1)) {
        c.run("ROLLBACK");
        return Error::internal("the database has tables named as libchat's but is not a libchat database");
      }
      c.run("CREATE TABLE chat_schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
      c.run("INSERT INTO chat_schema_version (id, version) VALUES (1, 0)");
    } else {
      const Rows v = c.exec("SELECT version FROM chat_schema_version WHERE id = 1");
      version = v.empty() ? 0 : static_cast<int>(v.i64(0, 0));
    }
    if (version > known) {
      c.run("ROLLBACK");
      return Error::internal(fmt::format(
          "the database schema is version {}, newer than this libchat knows ({}); upgrade libchat", version, known));
    }
    for (const auto& step : steps) {
      if (step.version <= version) continue;
      c.run(step.sql);
      c.exec("UPDATE chat_schema_version SET version = $1 WHERE id = 1", Params().add(step.version));
      log(LogLevel::kInfo, fmt::format("postgres store: migrated schema to version {}", step.version));
      version = step.version;
    }
    c.run("COMMIT");
    return {};
  } catch (...) {
    if (c.ok()) {
      try {
        c.run("ROLLBACK");
      } catch (...) {  // NOLINT: the caller reports the first failure
      }
    }
    throw;
  }
}

}  // namespace chat::pg
