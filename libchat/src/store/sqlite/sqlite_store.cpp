// The SQLite implementation of chat::Store.
//
// Connections: one writer connection behind a mutex (SQLite has one writer at
// a time anyway; serialising in-process avoids busy-waiting in SQLite's busy
// handler), and a pool of reader connections that read concurrently in WAL
// mode. A ":memory:" database is private to its connection, so the memory
// store uses the writer connection for everything.
//
// Every connection caches its prepared statements (literal SQL by address,
// SQL built from filters by text); a statement is reset as soon as its user
// is done with it so that a reader never keeps a stale snapshot open. Reads
// run in one read transaction (one snapshot: a page and its total agree).
//
// Full-text search: messages are NOT indexed inside append (a per-row FTS
// insert costs about 4x on every append). A background thread indexes new
// rows in batches behind a watermark (fts_state.last_indexed_id), and
// search_messages catches the index up before it queries, so search results
// are always fresh.
//
// Choices where the Store contract is silent:
// - A process holds an exclusive flock on "<path>.lock" while the store is
//   open; a second opener (another daemon) gets kUnavailable.
// - Durability::kNormal is WAL + synchronous=NORMAL: an acknowledged append
//   survives a crash of the process (tested with SIGKILL), not a power loss.
// - list_audit is newest first. purge returns messages + conversations
//   removed (attachments and index rows go with them, uncounted) and audits
//   itself with target_type "store".
// - restore_message of a message whose conversation is deleted: kNotFound
//   (restore the conversation first).
// - mark_read sets status `read` on messages between the previous mark and
//   the new one; those at or below the previous mark were set when it moved.
// - Substring filters use LIKE: case-insensitive for ASCII letters only.
// - Search: total counts in-scope matches within the ranked window of the
//   newest kSearchWindow matches, so it is exact up to that size.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "chat/store.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/sqlite/schema.hpp"

namespace chat {

namespace {

constexpr std::size_t kMaxMetadataBytes = 64 * 1024;
constexpr std::size_t kMaxProfileSectionBytes = 1024 * 1024;
// Newest in-scope matches that search ranks; see search_messages.
constexpr std::int64_t kSearchWindow = 1000;
// Dynamic listing SQL is cached too; its variety is bounded by the filter
// combinations, but cap it in case a caller finds many.
constexpr std::size_t kMaxCachedStatements = 512;
// WAL pages between automatic checkpoints (SQLite's default is 1000). A
// checkpoint fsyncs the database file in the commit that triggers it; with
// every append dirtying ~5 pages, the default checkpoints every ~200 appends
// and the fsyncs dominate p99 and cost throughput. 4000 pages bounds the WAL
// at about 16 MB between checkpoints. Measured: bench/README.md.
constexpr int kWalAutocheckpointPages = 4000;

// ---- connections and statements --------------------------------------------

// A cached statement in use. Resetting it on release ends the implicit read
// transaction it may hold, so readers see new commits and WAL checkpoints
// are never held back by an idle connection.
class Stmt {
 public:
  explicit Stmt(SQLite::Statement& s) : s_(&s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { s_->tryReset(); }

  SQLite::Statement* operator->() const { return s_; }
  SQLite::Statement& operator*() const { return *s_; }

 private:
  SQLite::Statement* s_;
};

class Conn {
 public:
  Conn(const std::string& path, int flags, int busy_ms) : db_(path, flags, busy_ms) {}

  SQLite::Database& db() { return db_; }

  // For SQL built at run time (listing filters): cached by text, bounded.
  Stmt prepare(const std::string& sql) {
    auto it = dynamic_.find(sql);
    if (it == dynamic_.end()) {
      if (dynamic_.size() >= kMaxCachedStatements) dynamic_.clear();
      it = dynamic_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
    }
    return Stmt(*it->second);
  }

  // For string literals only: cached by address, which spares hashing a few
  // hundred bytes of SQL on every call of a hot path.
  Stmt prepare_static(const char* literal) {
    auto it = static_.find(literal);
    if (it == static_.end()) it = static_.emplace(literal, std::make_unique<SQLite::Statement>(db_, literal)).first;
    return Stmt(*it->second);
  }

  // Runs a literal statement that returns no rows.
  void run(const char* literal) {
    auto s = prepare_static(literal);
    s->exec();
  }

 private:
  SQLite::Database db_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> static_;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> dynamic_;
};

// BEGIN/COMMIT through cached statements (SQLite::Transaction re-parses them
// on every use, which shows on the append path); rolls back unless committed.
class Tx {
 public:
  explicit Tx(Conn& c, const char* begin = "BEGIN") : c_(c) { c_.run(begin); }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx() {
    if (!done_) {
      try {
        c_.run("ROLLBACK");
      } catch (...) {  // NOLINT: a failed rollback leaves nothing better to do
      }
    }
  }
  void commit() {
    c_.run("COMMIT");
    done_ = true;
  }

 private:
  Conn& c_;
  bool done_ = false;
};

// ---- binding and reading helpers -------------------------------------------

using Param = std::variant<std::int64_t, std::string>;

void bind_all(SQLite::Statement& s, const std::vector<Param>& params, int first = 1) {
  int i = first;
  for (const auto& p : params) {
    if (const auto* n = std::get_if<std::int64_t>(&p))
      s.bind(i++, *n);
    else
      s.bind(i++, std::get<std::string>(p));
  }
}

void bind_opt(SQLite::Statement& s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    s.bind(i, *v);
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<double>& v) {
  if (v)
    s.bind(i, *v);
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<Timestamp>& v) {
  if (v)
    s.bind(i, to_millis(*v));
  else
    s.bind(i);
}
// Empty text is stored as NULL where uniqueness must ignore absent values.
void bind_text_or_null(SQLite::Statement& s, int i, const std::string& v) {
  if (v.empty())
    s.bind(i);
  else
    s.bind(i, v);
}

std::optional<std::int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}
std::optional<double> opt_double(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getDouble();
}
std::optional<Timestamp> opt_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return from_millis(c.getInt64());
}

// Escapes LIKE wildcards so that user text matches literally (ESCAPE '\').
std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '\\' || ch == '%' || ch == '_') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('%');
  return out;
}

// Plain words to an FTS5 query: every whitespace-separated token becomes an
// FTS5 string ("" doubled inside), implicitly ANDed. Operators, column
// filters, NEAR, '*' and quotes are thereby just text; a token with no
// indexable characters is an empty phrase, which FTS5 ignores.
std::string fts_query(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  auto space = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    if (i >= text.size()) break;
    if (!out.empty()) out.push_back(' ');
    out.push_back('"');
    while (i < text.size() && !space(text[i])) {
      if (text[i] == '"') out.push_back('"');
      out.push_back(text[i]);
      ++i;
    }
    out.push_back('"');
  }
  return out;
}

// Column lists; every query aliases conversations as c and messages as m.
// Macros, so that SQL built from them stays a string literal (literals are
// cached by address; see Conn::prepare_static).
#define CHAT_CONV_COLS                                                                                      \
  "c.id, c.uuid, c.handle, c.kind, c.type, c.user_id, c.external_user_id, c.name, c.email, c.agent_id, "  \
  "c.subject, c.title, c.status, c.is_archived, c.is_pinned, c.is_active, c.expires_at, c.metadata, "     \
  "c.initial_context, c.total_messages, c.unread_count, c.total_tokens, c.last_read_message_id, "         \
  "c.last_message_at, c.created_at, c.updated_at, c.deleted_at"
constexpr const char* kConvCols = CHAT_CONV_COLS;

#define CHAT_MSG_COLS                                                                                       \
  "m.id, m.uuid, m.conversation_id, m.client_id, m.role, m.content, m.content_type, m.message_type, "     \
  "m.status, m.metadata, m.tokens_used, m.processing_time, m.cost, m.created_at, m.updated_at, "           \
  "m.deleted_at, m.attachment_count"
constexpr const char* kMsgCols = CHAT_MSG_COLS;
constexpr int kMsgColCount = 17;

Conversation read_conversation(const SQLite::Statement& s) {
  Conversation c;
  c.id = s.getColumn(0).getInt64();
  c.uuid = s.getColumn(1).getString();
  c.handle = s.getColumn(2).getString();
  c.kind = parse_conversation_kind(s.getColumn(3).getString()).value_or(ConversationKind::kSupport);
  c.type = s.getColumn(4).getString();
  c.user_id = s.getColumn(5).getString();
  c.external_user_id = s.getColumn(6).getString();
  c.name = s.getColumn(7).getString();
  c.email = s.getColumn(8).getString();
  c.agent_id = opt_int(s.getColumn(9));
  c.subject = s.getColumn(10).getString();
  c.title = s.getColumn(11).getString();
  c.status = s.getColumn(12).getString();
  c.is_archived = s.getColumn(13).getInt64() != 0;
  c.is_pinned = s.getColumn(14).getInt64() != 0;
  c.is_active = s.getColumn(15).getInt64() != 0;
  c.expires_at = opt_time(s.getColumn(16));
  c.metadata = s.getColumn(17).getString();
  c.initial_context = s.getColumn(18).getString();
  c.total_messages = s.getColumn(19).getInt64();
  c.unread_count = s.getColumn(20).getInt64();
  c.total_tokens = s.getColumn(21).getInt64();
  c.last_read_message_id = s.getColumn(22).getInt64();
  c.last_message_at = opt_time(s.getColumn(23));
  c.created_at = from_millis(s.getColumn(24).getInt64());
  c.updated_at = from_millis(s.getColumn(25).getInt64());
  c.deleted_at = opt_time(s.getColumn(26));
  return c;
}

// Reads a message row; `attachment_count` says whether attachments must be loaded.
Message read_message(const SQLite::Statement& s, std::int64_t& attachment_count) {
  Message m;
  m.id = s.getColumn(0).getInt64();
  m.uuid = s.getColumn(1).getString();
  m.conversation_id = s.getColumn(2).getInt64();
  m.client_id = s.getColumn(3).getString();
  m.role = parse_role(s.getColumn(4).getString()).value_or(Role::kUser);
  m.content = s.getColumn(5).getString();
  m.content_type = s.getColumn(6).getString();
  m.message_type = s.getColumn(7).getString();
  m.status = parse_message_status(s.getColumn(8).getString()).value_or(MessageStatus::kSent);
  m.metadata = s.getColumn(9).getString();
  m.tokens_used = opt_int(s.getColumn(10));
  m.processing_time = opt_double(s.getColumn(11));
  m.cost = opt_double(s.getColumn(12));
  m.created_at = from_millis(s.getColumn(13).getInt64());
  m.updated_at = from_millis(s.getColumn(14).getInt64());
  m.deleted_at = opt_time(s.getColumn(15));
  attachment_count = s.getColumn(16).getInt64();
  return m;
}

void load_attachments(Conn& c, Message& m) {
  auto s = c.prepare_static(
      "SELECT id, message_id, file_name, file_type, file_size, file_path, created_at "
      "FROM message_attachments WHERE message_id = ? ORDER BY id");
  s->bind(1, m.id);
  m.attachments.clear();
  while (s->executeStep()) {
    Attachment a;
    a.id = s->getColumn(0).getInt64();
    a.message_id = s->getColumn(1).getInt64();
    a.file_name = s->getColumn(2).getString();
    a.file_type = s->getColumn(3).getString();
    a.file_size = s->getColumn(4).getInt64();
    a.file_path = s->getColumn(5).getString();
    a.created_at = from_millis(s->getColumn(6).getInt64());
    m.attachments.push_back(std::move(a));
  }
}

// Steps a statement whose rows are messages; loads attachments only for the
// rows that have some (so a page without attachments costs one query).
std::vector<Message> collect_messages(Conn& c, Stmt& s, std::vector<double>* extra = nullptr,
                                      std::int64_t* window_total = nullptr) {
  std::vector<Message> out;
  std::vector<std::size_t> with_attachments;
  while (s->executeStep()) {
    std::int64_t n = 0;
    out.push_back(read_message(*s, n));
    if (n > 0) with_attachments.push_back(out.size() - 1);
    if (extra) extra->push_back(s->getColumn(kMsgColCount).getDouble());
    if (window_total) *window_total = s->getColumn(kMsgColCount + 1).getInt64();
  }
  s->tryReset();
  for (auto i : with_attachments) load_attachments(c, out[i]);
  return out;
}

// "UNIQUE constraint failed: messages.conversation_id, messages.client_id" -> "client_id".
std::string unique_field(std::string_view what) {
  auto pos = what.rfind('.');
  if (pos == std::string_view::npos) return {};
  auto field = what.substr(pos + 1);
  auto end = field.find_first_of(" ,)");
  return std::string(field.substr(0, end));
}

// The common "{}" skips the JSON parser (it is on the append path).
Result<std::string> normalize_metadata(const std::string& text) {
  if (text.empty() || text == "{}") return std::string("{}");
  return detail::normalize_json_object(text, "metadata", kMaxMetadataBytes);
}

std::string audit_detail_count(std::string_view key, std::int64_t n) { return fmt::format("{{\"{}\":{}}}", key, n); }

// ---- the store ---------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, int lock_fd)
      : options_(options), memory_(options.path == ":memory:"), lock_fd_(lock_fd) {
    if (options_.index_batch <= 0) options_.index_batch = 512;
  }

  ~SqliteStore() override {
    {
      std::lock_guard lk(indexer_mu_);
      stop_ = true;
    }
    indexer_cv_.notify_all();
    if (indexer_.joinable()) indexer_.join();
    readers_.clear();
    writer_.reset();
    // The lock goes last: the database files are closed by now.
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status init() {
    try {
      const int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX;
      const int busy_ms = static_cast<int>(options_.busy_timeout.count());
      writer_ = std::make_unique<Conn>(options_.path, flags, busy_ms);
      auto& db = writer_->db();
      if (!memory_) {
        // Concurrent readers and the durability contract both rest on WAL.
        if (db.execAndGet("PRAGMA journal_mode=WAL").getString() != "wal")
          return Error::internal("the database cannot use write-ahead logging");
        db.exec(options_.durability == Durability::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        db.exec(fmt::format("PRAGMA wal_autocheckpoint={}", kWalAutocheckpointPages));
      }
      db.exec("PRAGMA foreign_keys=ON");
      db.exec("PRAGMA temp_store=MEMORY");
      db.exec(fmt::format("PRAGMA cache_size=-{}", std::max<std::int64_t>(options_.cache_size_kib, 256)));
      if (auto st = migrate(); !st) return st;
      if (!memory_) {
        const int n = std::max(1, options_.reader_connections);
        for (int i = 0; i < n; ++i) {
          auto r = std::make_unique<Conn>(options_.path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, busy_ms);
          r->db().exec("PRAGMA query_only=ON");
          r->db().exec("PRAGMA temp_store=MEMORY");
          r->db().exec(fmt::format("PRAGMA cache_size=-{}", std::max<std::int64_t>(options_.cache_size_kib / n, 256)));
          free_readers_.push_back(r.get());
          readers_.push_back(std::move(r));
        }
      }
      last_id_ = sequence(*writer_);
      {
        auto s = writer_->prepare("SELECT last_indexed_id FROM fts_state WHERE id = 1");
        indexed_id_ = s->executeStep() ? s->getColumn(0).getInt64() : 0;
      }
      {
        auto s = writer_->prepare("SELECT EXISTS (SELECT 1 FROM fts_pending)");
        pending_edits_ = s->executeStep() && s->getColumn(0).getInt64() != 0;
      }
      indexer_ = std::thread([this] { indexer_loop(); });
      return {};
    } catch (const SQLite::Exception& e) {
      log(LogLevel::kError, fmt::format("sqlite store: open failed: {}", e.what()));
      if (e.getErrorCode() == SQLITE_NOTADB) return Error::internal("the database file is not a SQLite database");
      if (e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED)
        return Error::unavailable("database is in use by another process");
      if (e.getErrorCode() == SQLITE_CANTOPEN || e.getErrorCode() == SQLITE_PERM ||
          e.getErrorCode() == SQLITE_READONLY)
        return Error::unavailable("the database file cannot be opened");
      return Error::internal("the database could not be opened");
    } catch (const std::exception& e) {
      log(LogLevel::kError, fmt::format("sqlite store: open failed: {}", e.what()));
      return Error::internal("the database could not be opened");
    }
  }

  // ---- conversations ---------------------------------------------------------

  Result<Conversation> create_conversation(const NewConversation& in, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Conversation>([&]() -> Result<Conversation> {
      auto meta = detail::normalize_json_object(in.metadata, "metadata", kMaxMetadataBytes);
      if (!meta) return std::move(meta).error();
      if (!in.uuid.empty() && !is_uuid(in.uuid)) return Error::invalid("uuid", "uuid is not a valid UUID");
      Conversation c;
      c.uuid = in.uuid.empty() ? generate_uuid_v4() : in.uuid;
      c.handle = in.handle;
      c.kind = in.kind;
      c.type = in.type.empty() ? "chat" : in.type;
      c.user_id = in.user_id;
      c.external_user_id = in.external_user_id;
      c.name = in.name;
      c.email = in.email;
      c.agent_id = in.agent_id;
      c.subject = in.subject;
      c.title = in.title;
      c.status = in.status.empty() ? "active" : in.status;
      c.is_archived = in.is_archived;
      c.is_pinned = in.is_pinned;
      c.is_active = true;
      c.expires_at = in.expires_at;
      c.metadata = std::move(meta).value();
      c.initial_context = in.initial_context;
      c.created_at = now;
      c.updated_at = now;
      return write<Conversation>([&](Conn& w) -> Result<Conversation> {
        auto s = w.prepare_static(
            "INSERT INTO conversations (uuid, handle, kind, type, user_id, external_user_id, name, email, agent_id, "
            "subject, title, status, is_archived, is_pinned, is_active, expires_at, metadata, initial_context, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?)");
        s->bind(1, c.uuid);
        bind_text_or_null(*s, 2, c.handle);
        s->bind(3, std::string(to_string(c.kind)));
        s->bind(4, c.type);
        s->bind(5, c.user_id);
        s->bind(6, c.external_user_id);
        s->bind(7, c.name);
        s->bind(8, c.email);
        bind_opt(*s, 9, c.agent_id);
        s->bind(10, c.subject);
        s->bind(11, c.title);
        s->bind(12, c.status);
        s->bind(13, c.is_archived ? 1 : 0);
        s->bind(14, c.is_pinned ? 1 : 0);
        bind_opt(*s, 15, c.expires_at);
        s->bind(16, c.metadata);
        s->bind(17, c.initial_context);
        s->bind(18, to_millis(now));
        s->bind(19, to_millis(now));
        s->exec();
        c.id = w.db().getLastInsertRowid();
        return c;
      });
    });
  }

  Result<Conversation> get_conversation(std::int64_t id, bool include_deleted) override {
    return read<Conversation>([&](Conn& r) { return load_conversation(r, id, include_deleted); },
                              Snapshot::kStatement);
  }

  Result<Conversation> find_conversation_by_uuid(std::string_view uuid, bool include_deleted) override {
    return read<Conversation>([&](Conn& r) -> Result<Conversation> {
      auto s = r.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.uuid = ?");
      s->bind(1, std::string(uuid));
      if (!s->executeStep()) return Error::not_found("conversation not found");
      auto c = read_conversation(*s);
      if (c.deleted_at && !include_deleted) return Error::not_found("conversation not found");
      return c;
    }, Snapshot::kStatement);
  }

  Result<Conversation> find_conversation_by_handle(std::string_view handle, bool include_deleted) override {
    if (handle.empty()) return Error::not_found("conversation not found");
    return read<Conversation>([&](Conn& r) -> Result<Conversation> {
      auto s = r.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.handle = ?");
      s->bind(1, std::string(handle));
      if (!s->executeStep()) return Error::not_found("conversation not found");
      auto c = read_conversation(*s);
      if (c.deleted_at && !include_deleted) return Error::not_found("conversation not found");
      return c;
    }, Snapshot::kStatement);
  }

  Result<Page<Conversation>> list_conversations(const ConversationQuery& q) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Page<Conversation>>([&]() -> Result<Page<Conversation>> {
      if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
      if (q.offset < 0) return Error::invalid("offset", "offset must not be negative");
      std::string where = " WHERE 1=1";
      std::vector<Param> params;
      if (!q.include_deleted) where += " AND c.deleted_at IS NULL";
      if (q.kind) {
        where += " AND c.kind = ?";
        params.emplace_back(std::string(to_string(*q.kind)));
      }
      if (q.user_id) {
        where += " AND c.user_id = ?";
        params.emplace_back(*q.user_id);
      }
      if (q.external_user_id) {
        where += " AND c.external_user_id = ?";
        params.emplace_back(*q.external_user_id);
      }
      if (q.subject) {
        where += " AND c.subject = ?";
        params.emplace_back(*q.subject);
      }
      if (q.agent_id) {
        where += " AND c.agent_id = ?";
        params.emplace_back(*q.agent_id);
      }
      if (q.is_active) {
        where += " AND c.is_active = ?";
        params.emplace_back(std::int64_t{*q.is_active ? 1 : 0});
      }
      if (q.is_archived) {
        where += " AND c.is_archived = ?";
        params.emplace_back(std::int64_t{*q.is_archived ? 1 : 0});
      }
      if (!q.search.empty()) {
        // LIKE is case-insensitive for ASCII letters only (SQLite without ICU).
        where +=
            " AND (c.handle LIKE ? ESCAPE '\\' OR c.external_user_id LIKE ? ESCAPE '\\' OR c.title LIKE ? ESCAPE '\\')";
        auto pat = like_pattern(q.search);
        params.emplace_back(pat);
        params.emplace_back(pat);
        params.emplace_back(pat);
      }
      if (q.since_id > 0) {
        where += " AND c.id > ?";
        params.emplace_back(q.since_id);
      }
      const char* order = q.order == ConversationOrder::kNewestFirst
                              ? " ORDER BY c.created_at DESC, c.id DESC"
                              : " ORDER BY c.is_pinned DESC, COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC";
      return read<Page<Conversation>>([&](Conn& r) -> Result<Page<Conversation>> {
        Page<Conversation> page;
        {
          auto s = r.prepare("SELECT COUNT(*) FROM conversations c" + where);
          bind_all(*s, params);
          s->executeStep();
          page.total = s->getColumn(0).getInt64();
        }
        auto s = r.prepare(fmt::format("SELECT {} FROM conversations c{}{} LIMIT ? OFFSET ?", kConvCols, where, order));
        bind_all(*s, params);
        s->bind(static_cast<int>(params.size()) + 1, q.limit);
        s->bind(static_cast<int>(params.size()) + 2, q.offset);
        while (s->executeStep()) page.items.push_back(read_conversation(*s));
        page.has_more = q.offset + static_cast<std::int64_t>(page.items.size()) < page.total;
        return page;
      });
    });
  }

  Result<Conversation> update_conversation(std::int64_t id, const ConversationPatch& p, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Conversation>([&]() -> Result<Conversation> {
      std::optional<std::string> meta;
      if (p.metadata) {
        auto m = detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes);
        if (!m) return std::move(m).error();
        meta = std::move(m).value();
      }
      return write<Conversation>([&](Conn& w) -> Result<Conversation> {
        auto cur = load_conversation(w, id, false);
        if (!cur) return cur;
        auto s = w.prepare_static(
            "UPDATE conversations SET title = COALESCE(?, title), status = COALESCE(?, status), "
            "is_archived = COALESCE(?, is_archived), is_pinned = COALESCE(?, is_pinned), "
            "is_active = COALESCE(?, is_active), metadata = COALESCE(?, metadata), "
            "initial_context = COALESCE(?, initial_context), agent_id = COALESCE(?, agent_id), "
            "expires_at = COALESCE(?, expires_at), updated_at = ? WHERE id = ?");
        auto bind_str = [&](int i, const std::optional<std::string>& v) {
          if (v)
            s->bind(i, *v);
          else
            s->bind(i);
        };
        auto bind_bool = [&](int i, const std::optional<bool>& v) {
          if (v)
            s->bind(i, *v ? 1 : 0);
          else
            s->bind(i);
        };
        bind_str(1, p.title);
        bind_str(2, p.status);
        bind_bool(3, p.is_archived);
        bind_bool(4, p.is_pinned);
        bind_bool(5, p.is_active);
        bind_str(6, meta);
        bind_str(7, p.initial_context);
        bind_opt(*s, 8, p.agent_id);
        bind_opt(*s, 9, p.expires_at);
        s->bind(10, to_millis(now));
        s->bind(11, id);
        s->exec();
        return load_conversation(w, id, false);
      });
    });
  }

  Status soft_delete_conversation(std::int64_t id, const AuditContext& audit) override {
    return write<void>([&](Conn& w) -> Status {
      auto s = w.prepare_static("UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL");
      s->bind(1, to_millis(audit.at));
      s->bind(2, id);
      if (s->exec() == 0) return Error::not_found("conversation not found");
      write_audit(w, audit, "conversation.delete", "conversation", id, id, "{}");
      return {};
    });
  }

  Result<Conversation> restore_conversation(std::int64_t id, const AuditContext& audit) override {
    return write<Conversation>([&](Conn& w) -> Result<Conversation> {
      auto s = w.prepare_static("UPDATE conversations SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL");
      s->bind(1, id);
      if (s->exec() == 0) return Error::not_found("no deleted conversation with this id");
      write_audit(w, audit, "conversation.restore", "conversation", id, id, "{}");
      return load_conversation(w, id, false);
    });
  }

  Result<std::int64_t> clear_conversation(std::int64_t id, const AuditContext& audit) override {
    return write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
      auto cur = load_conversation(w, id, false);
      if (!cur) return std::move(cur).error();
      std::int64_t n = 0;
      {
        auto s = w.prepare_static(
            "UPDATE messages SET deleted_at = ? WHERE conversation_id = ? AND deleted_at IS NULL");
        s->bind(1, to_millis(audit.at));
        s->bind(2, id);
        n = s->exec();
      }
      {
        auto s = w.prepare_static(
            "UPDATE conversations SET total_messages = 0, unread_count = 0, total_tokens = 0, "
            "last_message_at = NULL, updated_at = ? WHERE id = ?");
        s->bind(1, to_millis(audit.at));
        s->bind(2, id);
        s->exec();
      }
      write_audit(w, audit, "conversation.clear", "conversation", id, id, audit_detail_count("deleted_count", n));
      return n;
    });
  }

  Result<Conversation> mark_read(std::int64_t conversation_id, std::int64_t up_to, Timestamp now) override {
    return write<Conversation>([&](Conn& w) -> Result<Conversation> {
      auto cur = load_conversation(w, conversation_id, false);
      if (!cur) return cur;
      const std::int64_t old_mark = cur->last_read_message_id;
      std::int64_t last = 0;
      {
        auto s = w.prepare_static("SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = ?");
        s->bind(1, conversation_id);
        s->executeStep();
        last = s->getColumn(0).getInt64();
      }
      const std::int64_t mark = std::max(old_mark, std::min(up_to, last));
      if (mark > old_mark) {
        // Messages at or below the old mark were set to read when it moved there.
        auto s = w.prepare_static(
            "UPDATE messages SET status = 'read', updated_at = ? WHERE conversation_id = ? AND id > ? AND id <= ? "
            "AND deleted_at IS NULL AND role != 'user' AND status = 'sent'");
        s->bind(1, to_millis(now));
        s->bind(2, conversation_id);
        s->bind(3, old_mark);
        s->bind(4, mark);
        s->exec();
      }
      auto s = w.prepare_static(
          "UPDATE conversations SET last_read_message_id = ?1, updated_at = ?2, unread_count = "
          "(SELECT COUNT(*) FROM messages WHERE conversation_id = ?3 AND id > ?1 AND deleted_at IS NULL "
          "AND role != 'user') WHERE id = ?3");
      s->bind(1, mark);
      s->bind(2, to_millis(now));
      s->bind(3, conversation_id);
      s->exec();
      return load_conversation(w, conversation_id, false);
    });
  }

  // ---- messages --------------------------------------------------------------

  Result<AppendOutcome> append_message(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition = {}) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<AppendOutcome>([&]() -> Result<AppendOutcome> {
      auto meta = normalize_metadata(m.metadata);
      if (!meta) return std::move(meta).error();
      if (!m.uuid.empty() && !is_uuid(m.uuid)) return Error::invalid("uuid", "uuid is not a valid UUID");
      if (m.tokens_used && *m.tokens_used < 0) return Error::invalid("tokens_used", "tokens_used must not be negative");
      // Done before taking the writer lock: it is the only costly part that
      // does not need the database.
      AppendOutcome out;
      Message& msg = out.message;
      msg.uuid = m.uuid.empty() ? generate_uuid_v4() : m.uuid;
      msg.conversation_id = conversation_id;
      msg.client_id = m.client_id;
      msg.role = m.role;
      msg.content = m.content;
      msg.content_type = m.content_type.empty() ? "text" : m.content_type;
      msg.message_type = m.message_type.empty() ? "text" : m.message_type;
      msg.status = m.status;
      msg.metadata = std::move(meta).value();
      msg.tokens_used = m.tokens_used;
      msg.processing_time = m.processing_time;
      msg.cost = m.cost;
      msg.created_at = now;
      msg.updated_at = now;

      // Statements per append: BEGIN, [conversation row for the
      // precondition], [client_id lookup], UPDATE of the counters (which
      // doubles as the "conversation is live" check), INSERT, COMMIT. Fewer
      // statements is most of what keeps append near a raw insert.
      return write<AppendOutcome>([&](Conn& w) -> Result<AppendOutcome> {
        if (precondition) {
          // Read by the writer in its own transaction: on a warm cache, and
          // nothing can change the row before the insert.
          auto c = load_conversation(w, conversation_id, false);
          if (!c) return std::move(c).error();
          Status admitted;
          try {
            admitted = precondition(*c);
          } catch (...) {  // NOLINT: a throwing precondition refuses the append
            log(LogLevel::kError, "sqlite store: an append precondition threw");
            return Error::internal("internal error");
          }
          if (!admitted) return std::move(admitted).error();
        }
        if (!m.client_id.empty()) {
          // Checked in the same write transaction as the insert: two posts
          // with one client_id cannot both create a message.
          auto s = w.prepare_static("SELECT " CHAT_MSG_COLS
                                    " FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                                    "WHERE m.conversation_id = ? AND m.client_id = ? AND m.deleted_at IS NULL "
                                    "AND c.deleted_at IS NULL");
          s->bind(1, conversation_id);
          s->bind(2, m.client_id);
          auto found = collect_messages(w, s);
          if (!found.empty()) return AppendOutcome{std::move(found.front()), false};
        }
        {
          // A new id is always above last_read_message_id (marks are clamped
          // to existing ids), so a non-user message is always unread.
          auto s = w.prepare_static(
              "UPDATE conversations SET total_messages = total_messages + 1, unread_count = unread_count + ?, "
              "total_tokens = total_tokens + ?, last_message_at = ?, updated_at = ? "
              "WHERE id = ? AND deleted_at IS NULL");
          s->bind(1, msg.role == Role::kUser ? 0 : 1);
          s->bind(2, msg.tokens_used.value_or(0));
          s->bind(3, to_millis(now));
          s->bind(4, to_millis(now));
          s->bind(5, conversation_id);
          if (s->exec() == 0) return Error::not_found("conversation not found");
        }
        {
          auto s = w.prepare_static(
              "INSERT INTO messages (uuid, conversation_id, client_id, role, content, content_type, message_type, "
              "status, metadata, tokens_used, processing_time, cost, attachment_count, created_at, updated_at) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
          s->bind(1, msg.uuid);
          s->bind(2, conversation_id);
          bind_text_or_null(*s, 3, msg.client_id);
          s->bind(4, std::string(to_string(msg.role)));
          s->bindNoCopy(5, msg.content);
          s->bind(6, msg.content_type);
          s->bind(7, msg.message_type);
          s->bind(8, std::string(to_string(msg.status)));
          s->bindNoCopy(9, msg.metadata);
          bind_opt(*s, 10, msg.tokens_used);
          bind_opt(*s, 11, msg.processing_time);
          bind_opt(*s, 12, msg.cost);
          s->bind(13, static_cast<std::int64_t>(m.attachments.size()));
          s->bind(14, to_millis(now));
          s->bind(15, to_millis(now));
          s->exec();
        }
        msg.id = w.db().getLastInsertRowid();
        for (const auto& a : m.attachments) {
          auto s = w.prepare_static(
              "INSERT INTO message_attachments (message_id, file_name, file_type, file_size, file_path, created_at) "
              "VALUES (?,?,?,?,?,?)");
          s->bind(1, msg.id);
          s->bind(2, a.file_name);
          s->bind(3, a.file_type);
          s->bind(4, a.file_size);
          s->bind(5, a.file_path);
          s->bind(6, to_millis(now));
          s->exec();
          msg.attachments.push_back(Attachment{w.db().getLastInsertRowid(), msg.id, a.file_name, a.file_type,
                                               a.file_size, a.file_path, now});
        }
        // Set before the commit: a search that reads it early waits for the
        // writer lock anyway, so it never misses this message.
        last_id_ = msg.id;
        if (msg.id - indexed_id_.load() >= options_.index_batch) indexer_cv_.notify_one();
        return std::move(out);
      });
    });
  }

  Result<Message> get_message(std::int64_t id, bool include_deleted) override {
    return read<Message>([&](Conn& r) { return load_message(r, id, include_deleted); });
  }

  Result<Message> find_message_by_uuid(std::string_view uuid, bool include_deleted) override {
    return read<Message>([&](Conn& r) -> Result<Message> {
      std::int64_t id = 0;
      {
        auto s = r.prepare_static("SELECT id FROM messages WHERE uuid = ?");
        s->bind(1, std::string(uuid));
        if (!s->executeStep()) return Error::not_found("message not found");
        id = s->getColumn(0).getInt64();
      }
      return load_message(r, id, include_deleted);
    });
  }

  Result<Message> find_message_by_client_id(std::int64_t conversation_id, std::string_view client_id) override {
    if (client_id.empty()) return Error::not_found("message not found");
    return read<Message>([&](Conn& r) -> Result<Message> {
      auto s = r.prepare_static("SELECT " CHAT_MSG_COLS
                                " FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                                "WHERE m.conversation_id = ? AND m.client_id = ? AND m.deleted_at IS NULL "
                                "AND c.deleted_at IS NULL");
      s->bind(1, conversation_id);
      s->bind(2, std::string(client_id));
      auto found = collect_messages(r, s);
      if (found.empty()) return Error::not_found("message not found");
      return std::move(found.front());
    });
  }

  Result<Page<Message>> list_messages(std::int64_t conversation_id, const MessageQuery& q) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Page<Message>>([&]() -> Result<Page<Message>> {
      if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
      if (q.offset < 0) return Error::invalid("offset", "offset must not be negative");
      std::string where = " WHERE m.conversation_id = ?";
      std::vector<Param> params{conversation_id};
      if (!q.include_deleted) where += " AND m.deleted_at IS NULL";
      if (q.role) {
        where += " AND m.role = ?";
        params.emplace_back(std::string(to_string(*q.role)));
      }
      if (!q.include_system) where += " AND m.role != 'system'";
      if (!q.search.empty()) {
        where += " AND m.content LIKE ? ESCAPE '\\'";
        params.emplace_back(like_pattern(q.search));
      }
      if (q.after_id > 0) {
        where += " AND m.id > ?";
        params.emplace_back(q.after_id);
      }
      if (q.before_id > 0) {
        where += " AND m.id < ?";
        params.emplace_back(q.before_id);
      }
      // The unfiltered live listing takes its total from the maintained
      // counter: a COUNT over a large conversation costs milliseconds per page.
      const bool filtered = q.role || !q.include_system || !q.search.empty() || q.after_id > 0 || q.before_id > 0 ||
                            q.include_deleted;
      return read<Page<Message>>([&](Conn& r) -> Result<Page<Message>> {
        auto conv = load_conversation(r, conversation_id, q.include_deleted);
        if (!conv) return std::move(conv).error();
        Page<Message> page;
        if (filtered) {
          auto s = r.prepare("SELECT COUNT(*) FROM messages m" + where);
          bind_all(*s, params);
          s->executeStep();
          page.total = s->getColumn(0).getInt64();
        } else {
          page.total = conv->total_messages;
        }
        auto s = r.prepare(fmt::format("SELECT {} FROM messages m{} ORDER BY m.id {} LIMIT ? OFFSET ?", kMsgCols, where,
                                       q.newest_first ? "DESC" : "ASC"));
        bind_all(*s, params);
        s->bind(static_cast<int>(params.size()) + 1, q.limit);
        s->bind(static_cast<int>(params.size()) + 2, q.offset);
        page.items = collect_messages(r, s);
        page.has_more = q.offset + static_cast<std::int64_t>(page.items.size()) < page.total;
        return page;
      });
    });
  }

  Result<Message> update_message(std::int64_t id, const MessagePatch& p, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Message>([&]() -> Result<Message> {
      std::optional<std::string> meta;
      if (p.metadata) {
        auto m = detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes);
        if (!m) return std::move(m).error();
        meta = std::move(m).value();
      }
      if (p.tokens_used && *p.tokens_used < 0) return Error::invalid("tokens_used", "tokens_used must not be negative");
      bool edited_indexed = false;
      auto r = write<Message>([&](Conn& w) -> Result<Message> {
        auto cur = load_message(w, id, false);
        if (!cur) return cur;
        {
          auto s = w.prepare_static(
              "UPDATE messages SET content = COALESCE(?, content), metadata = COALESCE(?, metadata), "
              "status = COALESCE(?, status), tokens_used = COALESCE(?, tokens_used), "
              "processing_time = COALESCE(?, processing_time), cost = COALESCE(?, cost), updated_at = ? WHERE id = ?");
          if (p.content)
            s->bind(1, *p.content);
          else
            s->bind(1);
          if (meta)
            s->bind(2, *meta);
          else
            s->bind(2);
          if (p.status)
            s->bind(3, std::string(to_string(*p.status)));
          else
            s->bind(3);
          bind_opt(*s, 4, p.tokens_used);
          bind_opt(*s, 5, p.processing_time);
          bind_opt(*s, 6, p.cost);
          s->bind(7, to_millis(now));
          s->bind(8, id);
          s->exec();
        }
        if (p.tokens_used && *p.tokens_used != cur->tokens_used.value_or(0)) {
          auto s = w.prepare_static(
              "UPDATE conversations SET total_tokens = total_tokens + ?, updated_at = ? WHERE id = ?");
          s->bind(1, *p.tokens_used - cur->tokens_used.value_or(0));
          s->bind(2, to_millis(now));
          s->bind(3, cur->conversation_id);
          s->exec();
        }
        if (p.content && *p.content != cur->content) {
          // Rows above the watermark get indexed with their newest content
          // anyway; indexed rows are queued for re-indexing.
          auto s = w.prepare_static(
              "INSERT OR IGNORE INTO fts_pending (message_id) SELECT ?1 FROM fts_state "
              "WHERE id = 1 AND last_indexed_id >= ?1");
          s->bind(1, id);
          edited_indexed = s->exec() > 0;
        }
        return load_message(w, id, false);
      });
      if (r && edited_indexed) pending_edits_ = true;
      return r;
    });
  }

  Status soft_delete_message(std::int64_t id, const AuditContext& audit) override {
    return write<void>([&](Conn& w) -> Status {
      auto cur = load_message(w, id, false);
      if (!cur) return std::move(cur).error();
      auto s = w.prepare_static("UPDATE messages SET deleted_at = ? WHERE id = ?");
      s->bind(1, to_millis(audit.at));
      s->bind(2, id);
      s->exec();
      adjust_counters(w, *cur, -1, audit.at);
      write_audit(w, audit, "message.delete", "message", id, cur->conversation_id, "{}");
      return {};
    });
  }

  Result<Message> restore_message(std::int64_t id, const AuditContext& audit) override {
    return write<Message>([&](Conn& w) -> Result<Message> {
      auto cur = load_message(w, id, true);
      if (!cur || !cur->deleted_at) return Error::not_found("no deleted message with this id");
      auto conv = load_conversation(w, cur->conversation_id, false);
      if (!conv) return Error::not_found("the conversation of this message is deleted");
      if (!cur->client_id.empty()) {
        auto s = w.prepare_static(
            "SELECT 1 FROM messages WHERE conversation_id = ? AND client_id = ? AND deleted_at IS NULL");
        s->bind(1, cur->conversation_id);
        s->bind(2, cur->client_id);
        if (s->executeStep())
          return Error::conflict("client_id", "a live message of this conversation already uses this client_id");
      }
      auto s = w.prepare_static("UPDATE messages SET deleted_at = NULL WHERE id = ?");
      s->bind(1, id);
      s->exec();
      adjust_counters(w, *cur, +1, audit.at);
      write_audit(w, audit, "message.restore", "message", id, cur->conversation_id, "{}");
      return load_message(w, id, false);
    });
  }

  Result<Page<SearchHit>> search_messages(const SearchQuery& q) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Page<SearchHit>>([&]() -> Result<Page<SearchHit>> {
      const std::string match = fts_query(q.text);
      if (match.empty()) return Error::invalid("query", "the search query is empty");
      if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
      if (q.offset < 0) return Error::invalid("offset", "offset must not be negative");
      // Freshness: index whatever is pending before querying, so a message is
      // searchable as soon as append_message returned. Two atomic loads when
      // nothing is pending; otherwise one write transaction indexing the few
      // rows appended since the background indexer last ran (<= 200 ms ago).
      if (auto st = catch_up_index(); !st) return std::move(st).error();

      std::string scope;
      std::vector<Param> params{match};
      if (q.conversation_id) {
        scope += " AND m.conversation_id = ?";
        params.emplace_back(*q.conversation_id);
      }
      if (q.kind) {
        scope += " AND c.kind = ?";
        params.emplace_back(std::string(to_string(*q.kind)));
      }
      if (q.user_id) {
        scope += " AND c.user_id = ?";
        params.emplace_back(*q.user_id);
      }
      // Ranking every match (ORDER BY rank) costs seconds for a common word over
      // a million rows. So: take the newest kSearchWindow in-scope matches
      // (FTS rowid order, CROSS JOIN keeps the FTS table as the outer loop),
      // rank that window by bm25 then recency. `total` is the number of
      // in-scope matches in the window: exact up to kSearchWindow.
      const std::string sql = fmt::format(
          "WITH w AS (SELECT m.id AS id, bm25(messages_fts) AS r FROM messages_fts "
          "CROSS JOIN messages m ON m.id = messages_fts.rowid CROSS JOIN conversations c ON c.id = m.conversation_id "
          "WHERE messages_fts MATCH ? AND m.deleted_at IS NULL AND c.deleted_at IS NULL{} "
          "ORDER BY messages_fts.rowid DESC LIMIT {}) "
          "SELECT {}, -w.r, COUNT(*) OVER () FROM w JOIN messages m ON m.id = w.id "
          "ORDER BY w.r ASC, w.id DESC LIMIT ? OFFSET ?",
          scope, kSearchWindow, kMsgCols);
      return read<Page<SearchHit>>([&](Conn& r) -> Result<Page<SearchHit>> {
        Page<SearchHit> page;
        std::vector<double> scores;
        std::int64_t total = 0;
        {
          auto s = r.prepare(sql);
          bind_all(*s, params);
          s->bind(static_cast<int>(params.size()) + 1, q.limit);
          s->bind(static_cast<int>(params.size()) + 2, q.offset);
          auto msgs = collect_messages(r, s, &scores, &total);
          for (std::size_t i = 0; i < msgs.size(); ++i) page.items.push_back(SearchHit{std::move(msgs[i]), scores[i]});
        }
        if (page.items.empty() && (q.offset > 0 || q.limit == 0)) {
          // No row came back to carry the window count (past the end, or limit 0).
          auto s = r.prepare(fmt::format(
              "SELECT COUNT(*) FROM (SELECT 1 FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid "
              "CROSS JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH ? AND "
              "m.deleted_at IS NULL AND c.deleted_at IS NULL{} ORDER BY messages_fts.rowid DESC LIMIT {})",
              scope, kSearchWindow));
          bind_all(*s, params);
          s->executeStep();
          total = s->getColumn(0).getInt64();
        }
        page.total = total;
        page.has_more = q.offset + static_cast<std::int64_t>(page.items.size()) < page.total;
        return page;
      });
    });
  }

  Result<std::int64_t> last_message_id() override {
    return read<std::int64_t>([&](Conn& r) -> Result<std::int64_t> { return sequence(r); });
  }

  // ---- registries --------------------------------------------------------------

  Result<Agent> put_agent(const Agent& a, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Agent>([&]() -> Result<Agent> {
      if (a.name.empty()) return Error::invalid("name", "name is required");
      if (a.id < 0) return Error::invalid("id", "id must not be negative");
      return write<Agent>([&](Conn& w) -> Result<Agent> {
        std::int64_t id = a.id;
        if (id == 0) {
          auto s = w.prepare_static(
              "INSERT INTO agents (name, system_prompt, model, created_at, updated_at) VALUES (?,?,?,?,?)");
          s->bind(1, a.name);
          s->bind(2, a.system_prompt);
          s->bind(3, a.model);
          s->bind(4, to_millis(now));
          s->bind(5, to_millis(now));
          s->exec();
          id = w.db().getLastInsertRowid();
        } else {
          auto s = w.prepare_static(
              "INSERT INTO agents (id, name, system_prompt, model, created_at, updated_at) VALUES (?,?,?,?,?,?) "
              "ON CONFLICT(id) DO UPDATE SET name = excluded.name, system_prompt = excluded.system_prompt, "
              "model = excluded.model, updated_at = excluded.updated_at");
          s->bind(1, id);
          s->bind(2, a.name);
          s->bind(3, a.system_prompt);
          s->bind(4, a.model);
          s->bind(5, to_millis(now));
          s->bind(6, to_millis(now));
          s->exec();
        }
        return load_agent(w, id);
      });
    });
  }

  Result<Agent> get_agent(std::int64_t id) override {
    return read<Agent>([&](Conn& r) { return load_agent(r, id); });
  }

  Result<std::vector<Agent>> list_agents() override {
    return read<std::vector<Agent>>([&](Conn& r) -> Result<std::vector<Agent>> {
      auto s = r.prepare_static(
          "SELECT id, name, system_prompt, model, created_at, updated_at FROM agents ORDER BY id");
      std::vector<Agent> out;
      while (s->executeStep()) out.push_back(read_agent(*s));
      return out;
    });
  }

  Result<Subject> put_subject(const Subject& in, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Subject>([&]() -> Result<Subject> {
      const std::string id = in.id.empty() ? generate_uuid_v4() : in.id;
      return write<Subject>([&](Conn& w) -> Result<Subject> {
        auto s = w.prepare_static(
            "INSERT INTO subjects (id, title, description, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET title = excluded.title, description = excluded.description, "
            "updated_at = excluded.updated_at");
        s->bind(1, id);
        s->bind(2, in.title);
        s->bind(3, in.description);
        s->bind(4, in.created_by);
        s->bind(5, to_millis(now));
        s->bind(6, to_millis(now));
        s->exec();
        return load_subject(w, id);
      });
    });
  }

  Result<Subject> get_subject(std::string_view id) override {
    return read<Subject>([&](Conn& r) { return load_subject(r, std::string(id)); });
  }

  Result<Profile> put_profile(const Profile& in, Timestamp now) override {
    // Validation and SQL building can throw too (allocation): nothing escapes.
    return guarded<Profile>([&]() -> Result<Profile> {
      if (in.user_id.empty()) return Error::invalid("user_id", "user_id is required");
      Profile p;
      p.user_id = in.user_id;
      for (auto [src, dst, name] : {std::tuple{&in.work_history, &p.work_history, "work_history"},
                                    std::tuple{&in.education, &p.education, "education"},
                                    std::tuple{&in.projects, &p.projects, "projects"},
                                    std::tuple{&in.skills, &p.skills, "skills"}}) {
        auto v = detail::normalize_json_array(*src, name, kMaxProfileSectionBytes);
        if (!v) return std::move(v).error();
        *dst = std::move(v).value();
      }
      p.updated_at = now;
      return write<Profile>([&](Conn& w) -> Result<Profile> {
        auto s = w.prepare_static(
            "INSERT INTO profiles (user_id, work_history, education, projects, skills, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(user_id) DO UPDATE SET work_history = excluded.work_history, "
            "education = excluded.education, projects = excluded.projects, skills = excluded.skills, "
            "updated_at = excluded.updated_at");
        s->bind(1, p.user_id);
        s->bind(2, p.work_history);
        s->bind(3, p.education);
        s->bind(4, p.projects);
        s->bind(5, p.skills);
        s->bind(6, to_millis(now));
        s->bind(7, to_millis(now));
        s->exec();
        return p;
      });
    });
  }

  Result<Profile> get_profile(std::string_view user_id) override {
    return read<Profile>([&](Conn& r) -> Result<Profile> {
      auto s = r.prepare_static(
          "SELECT user_id, work_history, education, projects, skills, updated_at FROM profiles WHERE user_id = ?");
      s->bind(1, std::string(user_id));
      if (!s->executeStep()) return Error::not_found("profile not found");
      Profile p;
      p.user_id = s->getColumn(0).getString();
      p.work_history = s->getColumn(1).getString();
      p.education = s->getColumn(2).getString();
      p.projects = s->getColumn(3).getString();
      p.skills = s->getColumn(4).getString();
      p.updated_at = from_millis(s->getColumn(5).getInt64());
      return p;
    });
  }

  // ---- audit and retention -------------------------------------------------------

  // Newest first.
  Result<std::vector<AuditEntry>> list_audit(const AuditQuery& q) override {
    if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
    if (q.offset < 0) return Error::invalid("offset", "offset must not be negative");
    return read<std::vector<AuditEntry>>([&](Conn& r) -> Result<std::vector<AuditEntry>> {
      auto s = r.prepare(fmt::format(
          "SELECT id, at, actor, action, target_type, target_id, conversation_id, detail FROM audit_log{} "
          "ORDER BY id DESC LIMIT ? OFFSET ?",
          q.conversation_id ? " WHERE conversation_id = ?" : ""));
      int i = 1;
      if (q.conversation_id) s->bind(i++, *q.conversation_id);
      s->bind(i++, q.limit);
      s->bind(i++, q.offset);
      std::vector<AuditEntry> out;
      while (s->executeStep()) {
        AuditEntry e;
        e.id = s->getColumn(0).getInt64();
        e.at = from_millis(s->getColumn(1).getInt64());
        e.actor = s->getColumn(2).getString();
        e.action = s->getColumn(3).getString();
        e.target_type = s->getColumn(4).getString();
        e.target_id = s->getColumn(5).getInt64();
        e.conversation_id = s->getColumn(6).getInt64();
        e.detail = s->getColumn(7).getString();
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit) override {
    return write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
      const std::int64_t cutoff = to_millis(deleted_before);
      // Doomed messages: deleted before the cutoff, or in a conversation that
      // is. Collected once so that every table is cleaned by the same set.
      w.run("CREATE TEMP TABLE IF NOT EXISTS purge_ids (id INTEGER PRIMARY KEY)");
      w.run("DELETE FROM temp.purge_ids");
      {
        auto s = w.prepare_static(
            "INSERT INTO temp.purge_ids (id) SELECT m.id FROM messages m JOIN conversations c "
            "ON c.id = m.conversation_id WHERE m.deleted_at < ?1 OR c.deleted_at < ?1");
        s->bind(1, cutoff);
        s->exec();
      }
      w.run("DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM temp.purge_ids)");
      w.run("DELETE FROM fts_pending WHERE message_id IN (SELECT id FROM temp.purge_ids)");
      w.run("DELETE FROM message_attachments WHERE message_id IN (SELECT id FROM temp.purge_ids)");
      std::int64_t messages = 0;
      std::int64_t conversations = 0;
      {
        auto s = w.prepare_static("DELETE FROM messages WHERE id IN (SELECT id FROM temp.purge_ids)");
        messages = s->exec();
      }
      {
        auto s = w.prepare_static("DELETE FROM conversations WHERE deleted_at < ?");
        s->bind(1, cutoff);
        conversations = s->exec();
      }
      w.run("DELETE FROM temp.purge_ids");
      write_audit(w, audit, "purge", "store", 0, 0,
                  fmt::format("{{\"messages\":{},\"conversations\":{},\"deleted_before\":{}}}", messages,
                              conversations, cutoff));
      return messages + conversations;
    });
  }

  Result<std::int64_t> flush_search_index() override {
    std::int64_t total = 0;
    for (;;) {
      auto r = index_batch(options_.index_batch);
      if (!r) return r;
      if (*r == 0) break;
      total += *r;
    }
    return total;
  }

  // ---- seeds 002 / 003: analytics ------------------------------------------------
  // Both run in one read transaction on a pooled reader. activity() walks the
  // owner index (conversations_user) or the primary key, then
  // messages_conversation per conversation; activity_totals() is grouped
  // aggregates over conversations_kind and messages_conversation.

  Result<ActivityLog> activity(const ActivityQuery& q) override {
    return guarded<ActivityLog>([&]() -> Result<ActivityLog> {
      std::string where = " WHERE c.deleted_at IS NULL";
      std::vector<Param> params;
      if (q.conversation_id) {
        where += " AND c.id = ?";
        params.emplace_back(*q.conversation_id);
      }
      if (q.user_id) {
        where += " AND c.user_id = ?";
        params.emplace_back(*q.user_id);
      }
      if (q.kind) {
        where += " AND c.kind = ?";
        params.emplace_back(std::string(to_string(*q.kind)));
      }
      const std::string conv_sql = "SELECT c.id, c.user_id, c.agent_id, c.created_at FROM conversations c" + where +
                                   " ORDER BY c.id";
      const std::string msg_sql =
          "SELECT m.id, m.conversation_id, m.role, m.status, m.created_at FROM conversations c "
          "JOIN messages m ON m.conversation_id = c.id AND m.deleted_at IS NULL" +
          where + " ORDER BY m.conversation_id, m.id";
      return read<ActivityLog>([&](Conn& r) -> Result<ActivityLog> {
        ActivityLog out;
        auto cs = r.prepare(conv_sql);
        bind_all(*cs, params);
        while (cs->executeStep()) {
          ConversationActivity a;
          a.id = cs->getColumn(0).getInt64();
          a.user_id = cs->getColumn(1).getString();
          if (!cs->getColumn(2).isNull()) a.agent_id = cs->getColumn(2).getInt64();
          a.created_at = from_millis(cs->getColumn(3).getInt64());
          out.conversations.push_back(std::move(a));
        }
        auto ms = r.prepare(msg_sql);
        bind_all(*ms, params);
        while (ms->executeStep()) {
          MessageActivity m;
          m.id = ms->getColumn(0).getInt64();
          m.conversation_id = ms->getColumn(1).getInt64();
          m.role = parse_role(ms->getColumn(2).getString()).value_or(Role::kUser);
          m.status = parse_message_status(ms->getColumn(3).getString()).value_or(MessageStatus::kSent);
          m.created_at = from_millis(ms->getColumn(4).getInt64());
          out.messages.push_back(m);
        }
        return out;
      });
    });
  }

  Result<ActivityTotals> activity_totals(std::optional<ConversationKind> kind) override {
    return guarded<ActivityTotals>([&]() -> Result<ActivityTotals> {
      std::string where = " WHERE c.deleted_at IS NULL";
      std::vector<Param> params;
      if (kind) {
        where += " AND c.kind = ?";
        params.emplace_back(std::string(to_string(*kind)));
      }
      const std::string conv_sql =
          "SELECT COUNT(*), COALESCE(SUM(c.user_id <> ''), 0), COUNT(DISTINCT NULLIF(c.user_id, '')) "
          "FROM conversations c" + where;
      const std::string msg_sql =
          "SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id "
          "AND m.deleted_at IS NULL" + where;
      const std::string agent_sql =
          "SELECT c.agent_id, COALESCE(a.name, ''), COUNT(*), "
          "COALESCE(SUM((SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL "
          "AND m.role = 'assistant')), 0), "
          "COALESCE(SUM((SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL "
          "AND m.role = 'assistant' AND m.status = 'failed')), 0) "
          "FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id" + where +
          " AND c.agent_id IS NOT NULL GROUP BY c.agent_id ORDER BY c.agent_id";
      return read<ActivityTotals>([&](Conn& r) -> Result<ActivityTotals> {
        ActivityTotals out;
        auto cs = r.prepare(conv_sql);
        bind_all(*cs, params);
        if (cs->executeStep()) {
          out.conversations = cs->getColumn(0).getInt64();
          out.owned_conversations = cs->getColumn(1).getInt64();
          out.owners = cs->getColumn(2).getInt64();
        }
        auto ms = r.prepare(msg_sql);
        bind_all(*ms, params);
        if (ms->executeStep()) out.messages = ms->getColumn(0).getInt64();
        auto as = r.prepare(agent_sql);
        bind_all(*as, params);
        while (as->executeStep()) {
          AgentTotals t;
          t.agent_id = as->getColumn(0).getInt64();
          t.name = as->getColumn(1).getString();
          t.conversations = as->getColumn(2).getInt64();
          t.replies = as->getColumn(3).getInt64();
          t.failed_replies = as->getColumn(4).getInt64();
          out.agents.push_back(std::move(t));
        }
        return out;
      });
    });
  }

 private:
  // ---- plumbing ---------------------------------------------------------------

  void log(LogLevel level, const std::string& message) const {
    if (options_.logger && options_.logger->enabled(level)) options_.logger->log(level, message);
  }

  Error map_error(const SQLite::Exception& e) const {
    const int code = e.getErrorCode();
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      log(LogLevel::kWarn, fmt::format("sqlite store: busy: {}", e.what()));
      return Error::unavailable("the database is busy; retry later");
    }
    const int ext = e.getExtendedErrorCode();
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
      auto field = unique_field(e.what());
      return Error::conflict(field, field.empty() ? "the value is already taken" : field + " is already taken");
    }
    log(LogLevel::kError, fmt::format("sqlite store: {} (code {})", e.what(), ext));
    if (code == SQLITE_FULL) return Error::unavailable("the database is full");
    return Error::internal("storage failure");
  }

  template <typename T, typename F>
  Result<T> guarded(F&& f) {
    try {
      return f();
    } catch (const SQLite::Exception& e) {
      return map_error(e);
    } catch (const std::exception& e) {
      log(LogLevel::kError, fmt::format("sqlite store: {}", e.what()));
      return Error::internal("storage failure");
    }
  }

  // Runs `f` in a write transaction on the writer connection; commits only
  // when `f` succeeds, so an error leaves nothing written.
  template <typename T, typename F>
  Result<T> write(F&& f) {
    return guarded<T>([&]() -> Result<T> {
      std::lock_guard lk(writer_mu_);
      Tx tx(*writer_, "BEGIN IMMEDIATE");
      Result<T> r = f(*writer_);
      if (r.ok()) tx.commit();
      return r;
    });
  }

  // How much of a read must see one snapshot: several statements need a
  // read transaction; a single statement is its own snapshot, and skipping
  // BEGIN/COMMIT matters on the lookups every post makes.
  enum class Snapshot { kTransaction, kStatement };

  // Runs `f` on a pooled reader, in one read transaction unless `snapshot`
  // says `f` runs a single statement.
  template <typename T, typename F>
  Result<T> read(F&& f, Snapshot snapshot = Snapshot::kTransaction) {
    return guarded<T>([&]() -> Result<T> {
      if (memory_) {
        std::lock_guard lk(writer_mu_);
        if (snapshot == Snapshot::kStatement) return f(*writer_);
        Tx tx(*writer_);
        Result<T> r = f(*writer_);
        tx.commit();
        return r;
      }
      Conn* c = nullptr;
      {
        std::unique_lock lk(readers_mu_);
        readers_cv_.wait(lk, [&] { return !free_readers_.empty(); });
        c = free_readers_.back();
        free_readers_.pop_back();
      }
      struct Release {
        SqliteStore* self;
        Conn* c;
        ~Release() {
          {
            std::lock_guard lk(self->readers_mu_);
            self->free_readers_.push_back(c);
          }
          self->readers_cv_.notify_one();
        }
      } release{this, c};
      if (snapshot == Snapshot::kStatement) return f(*c);
      Tx tx(*c);
      Result<T> r = f(*c);
      tx.commit();
      return r;
    });
  }

  Status migrate() {
    auto& db = writer_->db();
    const auto& steps = detail::sqlite_migrations();
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
      db.exec(fmt::format("PRAGMA user_version = {}", step.version));
      tx.commit();
      log(LogLevel::kInfo, fmt::format("sqlite store: migrated schema to version {}", step.version));
      version = step.version;
    }
    return {};
  }

  static std::int64_t sequence(Conn& c) {
    auto s = c.prepare_static("SELECT seq FROM sqlite_sequence WHERE name = 'messages'");
    return s->executeStep() ? s->getColumn(0).getInt64() : 0;
  }

  Result<Conversation> load_conversation(Conn& c, std::int64_t id, bool include_deleted) {
    auto s = c.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.id = ?");
    s->bind(1, id);
    if (!s->executeStep()) return Error::not_found("conversation not found");
    auto conv = read_conversation(*s);
    if (conv.deleted_at && !include_deleted) return Error::not_found("conversation not found");
    return conv;
  }

  // A message is visible when it and its conversation are live, or when
  // include_deleted is asked for.
  Result<Message> load_message(Conn& c, std::int64_t id, bool include_deleted) {
    auto s = c.prepare_static("SELECT " CHAT_MSG_COLS
                              ", c.deleted_at FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                              "WHERE m.id = ?");
    s->bind(1, id);
    if (!s->executeStep()) return Error::not_found("message not found");
    std::int64_t n = 0;
    Message m = read_message(*s, n);
    const bool conv_deleted = !s->getColumn(kMsgColCount).isNull();
    s->tryReset();
    if ((m.deleted_at || conv_deleted) && !include_deleted) return Error::not_found("message not found");
    if (n > 0) load_attachments(c, m);
    return m;
  }

  // Moves the counters of `m`'s conversation by one message (delta = -1 on
  // delete, +1 on restore), then recomputes last_message_at (the newest live
  // message may just have changed).
  void adjust_counters(Conn& w, const Message& m, int delta, Timestamp at) {
    auto s = w.prepare_static(
        "UPDATE conversations SET total_messages = total_messages + ?1, total_tokens = total_tokens + ?2, "
        "unread_count = unread_count + CASE WHEN ?3 AND ?4 > last_read_message_id THEN ?1 ELSE 0 END, "
        "last_message_at = (SELECT created_at FROM messages WHERE conversation_id = ?5 AND deleted_at IS NULL "
        "ORDER BY id DESC LIMIT 1), updated_at = ?6 WHERE id = ?5");
    s->bind(1, delta);
    s->bind(2, delta * m.tokens_used.value_or(0));
    s->bind(3, m.role == Role::kUser ? 0 : 1);
    s->bind(4, m.id);
    s->bind(5, m.conversation_id);
    s->bind(6, to_millis(at));
    s->exec();
  }

  void write_audit(Conn& w, const AuditContext& audit, const char* action, const char* target_type,
                   std::int64_t target_id, std::int64_t conversation_id, const std::string& detail) {
    auto s = w.prepare_static(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, conversation_id, detail) "
        "VALUES (?,?,?,?,?,?,?)");
    s->bind(1, to_millis(audit.at));
    s->bind(2, audit.actor);
    s->bind(3, action);
    s->bind(4, target_type);
    s->bind(5, target_id);
    s->bind(6, conversation_id);
    s->bind(7, detail);
    s->exec();
  }

  static Agent read_agent(const SQLite::Statement& s) {
    Agent a;
    a.id = s.getColumn(0).getInt64();
    a.name = s.getColumn(1).getString();
    a.system_prompt = s.getColumn(2).getString();
    a.model = s.getColumn(3).getString();
    a.created_at = from_millis(s.getColumn(4).getInt64());
    a.updated_at = from_millis(s.getColumn(5).getInt64());
    return a;
  }

  Result<Agent> load_agent(Conn& c, std::int64_t id) {
    auto s = c.prepare_static("SELECT id, name, system_prompt, model, created_at, updated_at FROM agents WHERE id = ?");
    s->bind(1, id);
    if (!s->executeStep()) return Error::not_found("agent not found");
    return read_agent(*s);
  }

  Result<Subject> load_subject(Conn& c, const std::string& id) {
    auto s = c.prepare_static(
        "SELECT id, title, description, created_by, created_at, updated_at FROM subjects WHERE id = ?");
    s->bind(1, id);
    if (!s->executeStep()) return Error::not_found("subject not found");
    Subject j;
    j.id = s->getColumn(0).getString();
    j.title = s->getColumn(1).getString();
    j.description = s->getColumn(2).getString();
    j.created_by = s->getColumn(3).getString();
    j.created_at = from_millis(s->getColumn(4).getInt64());
    j.updated_at = from_millis(s->getColumn(5).getInt64());
    return j;
  }

  // ---- search indexing ----------------------------------------------------------

  bool index_behind() const { return last_id_.load() > indexed_id_.load() || pending_edits_.load(); }

  Status catch_up_index() {
    if (!index_behind()) return {};
    auto r = flush_search_index();
    if (!r) return std::move(r).error();
    return {};
  }

  // Indexes up to `limit` new messages and up to `limit` edited ones in one
  // write transaction; returns how many rows it (re)indexed.
  Result<std::int64_t> index_batch(std::int64_t limit) {
    // Not write(): the watermark is published after the commit but still
    // under the writer lock, so no append or edit can slip in between.
    return guarded<std::int64_t>([&]() -> Result<std::int64_t> {
      std::lock_guard lk(writer_mu_);
      Conn& w = *writer_;
      Tx tx(w, "BEGIN IMMEDIATE");
      std::int64_t mark = 0;
      {
        auto s = w.prepare_static("SELECT last_indexed_id FROM fts_state WHERE id = 1");
        if (s->executeStep()) mark = s->getColumn(0).getInt64();
      }
      std::int64_t done = 0;
      std::int64_t seen = mark;
      std::vector<std::int64_t> ids;
      {
        auto sel = w.prepare_static("SELECT id, content FROM messages WHERE id > ? ORDER BY id LIMIT ?");
        sel->bind(1, mark);
        sel->bind(2, limit);
        auto ins = w.prepare_static("INSERT INTO messages_fts (rowid, content) VALUES (?, ?)");
        while (sel->executeStep()) {
          seen = sel->getColumn(0).getInt64();
          ins->bind(1, seen);
          ins->bind(2, sel->getColumn(1).getString());
          ins->exec();
          ins->reset();
          ++done;
        }
      }
      // A short batch reached the end: every id assigned so far was looked
      // at (purged ids leave gaps), so the mark can move to the sequence.
      if (done < limit) seen = std::max(seen, sequence(w));
      {
        auto sel = w.prepare_static("SELECT message_id FROM fts_pending ORDER BY message_id LIMIT ?");
        sel->bind(1, limit);
        while (sel->executeStep()) ids.push_back(sel->getColumn(0).getInt64());
        sel->tryReset();
        for (auto id : ids) {
          {
            auto del = w.prepare_static("DELETE FROM messages_fts WHERE rowid = ?");
            del->bind(1, id);
            del->exec();
          }
          {
            auto ins = w.prepare_static(
                "INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages WHERE id = ?");
            ins->bind(1, id);
            ins->exec();
          }
          {
            auto del = w.prepare_static("DELETE FROM fts_pending WHERE message_id = ?");
            del->bind(1, id);
            del->exec();
          }
          ++done;
        }
      }
      if (seen != mark) {
        auto s = w.prepare_static("UPDATE fts_state SET last_indexed_id = ? WHERE id = 1");
        s->bind(1, seen);
        s->exec();
      }
      tx.commit();
      indexed_id_ = seen;
      pending_edits_ = static_cast<std::int64_t>(ids.size()) == limit;
      return done;
    });
  }

  void indexer_loop() {
    const auto period = std::chrono::milliseconds(200);
    std::unique_lock lk(indexer_mu_);
    while (!stop_) {
      indexer_cv_.wait_for(lk, period, [&] {
        return stop_ || last_id_.load() - indexed_id_.load() >= options_.index_batch;
      });
      if (stop_) break;
      if (!index_behind()) continue;
      lk.unlock();
      // One batch per transaction, releasing the writer between batches so
      // appends interleave with a long catch-up. Only full batches go on at
      // once: chasing every new row would shrink batches to a row or two,
      // and a small FTS5 transaction costs nearly what a large one does.
      const std::int64_t batch = options_.index_batch;
      while (!stop_flag()) {
        auto r = index_batch(batch);
        if (!r) {
          log(LogLevel::kError, "sqlite store: background indexing failed: " + r.error().message);
          break;
        }
        if (*r < batch) break;
      }
      lk.lock();
    }
  }

  bool stop_flag() {
    std::lock_guard lk(indexer_mu_);
    return stop_;
  }

  SqliteOptions options_;
  const bool memory_;
  int lock_fd_;

  std::mutex writer_mu_;
  std::unique_ptr<Conn> writer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  std::vector<Conn*> free_readers_;

  // Largest message id assigned, and the index watermark; both move under
  // the writer lock and are read without it as a fast "anything to index?".
  std::atomic<std::int64_t> last_id_{0};
  std::atomic<std::int64_t> indexed_id_{0};
  std::atomic<bool> pending_edits_{false};

  std::mutex indexer_mu_;
  std::condition_variable indexer_cv_;
  bool stop_ = false;
  std::thread indexer_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  const bool memory = options.path == ":memory:";
  if (options.path.empty()) return Error::invalid("path", "the database path is empty");
  int lock_fd = -1;
  if (!memory) {
    // SQLite's own locking lets two processes share a database; two daemons
    // on one file (SO_REUSEPORT lets them share a port too) must not.
    const std::string lock_path = options.path + ".lock";
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) return Error::unavailable("the database file cannot be opened");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd);
      return Error::unavailable("database is in use by another process");
    }
  }
  std::unique_ptr<SqliteStore> store;
  try {
    store = std::make_unique<SqliteStore>(options, lock_fd);
  } catch (const std::exception&) {
    if (lock_fd >= 0) ::close(lock_fd);
    return Error::internal("the database could not be opened");
  }
  if (auto st = store->init(); !st) return std::move(st).error();
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> open_memory_store() {
  SqliteOptions options;
  options.path = ":memory:";
  return open_sqlite_store(options);
}

}  // namespace chat
