// Between domain values and PostgreSQL rows: the column lists every query
// selects, the mapping of a row to a domain type, and the one way a listing
// answers a Page<T>. Stored conventions as in schema.cpp. Private to libchat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "chat/types.hpp"
#include "store/new_rows.hpp"
#include "store/page_budget.hpp"
#include "store/postgres/connection.hpp"
#include "chat/text.hpp"

namespace chat {
// A search hit counts its message against a page's ByteBudget (chat/types.hpp).
inline std::size_t stored_bytes(const SearchHit& h) noexcept { return stored_bytes(h.message); }
}  // namespace chat

namespace chat::pg {

using detail::check_window;
using detail::PageBytes;

using detail::kMaxMetadataBytes;
using detail::normalize_metadata;
inline constexpr std::size_t kMaxProfileSectionBytes = 1024 * 1024;


// Text no stored value can equal: it holds NUL (PostgreSQL text holds none)
// or is not UTF-8 (the database refuses it). Lookups of such text answer
// kNotFound and filters match nothing, as on the SQLite store, instead of
// the database's refusal.
inline bool never_stored(std::string_view s) {
  return s.find('\0') != std::string_view::npos || !is_valid_utf8(s);
}

// "<column> = $n" for an exact text filter; "FALSE" for a value holding NUL,
// which no stored text can equal (PostgreSQL text holds no NUL).
std::string text_equals(Params& p, const char* column, const std::string& value);

// Adds `v` to `p` and returns its placeholder ("$n"), for SQL built from filters.
template <typename T>
std::string arg(Params& p, const T& v) {
  p.add(v);
  return "$" + std::to_string(p.size());
}

// Every query aliases conversations as c and messages as m.
#define CHAT_PG_CONV_COLS                                                                                   \
  "c.id, c.uuid, c.handle, c.kind, c.type, c.user_id, c.external_user_id, c.name, c.email, c.agent_id, "  \
  "c.subject, c.title, c.status, c.is_archived, c.is_pinned, c.is_active, c.expires_at, c.metadata, "     \
  "c.initial_context, c.total_messages, c.unread_count, c.total_tokens, c.last_read_message_id, "         \
  "c.last_message_at, c.created_at, c.updated_at, c.deleted_at"
inline constexpr int kConvColCount = 27;

#define CHAT_PG_MSG_COLS                                                                                    \
  "m.id, m.uuid, m.conversation_id, m.client_id, m.role, m.content, m.content_type, m.message_type, "     \
  "m.status, m.metadata, m.tokens_used, m.processing_time, m.cost, m.created_at, m.updated_at, "           \
  "m.deleted_at, m.attachment_count"
inline constexpr int kMsgColCount = 17;

#define CHAT_PG_AGENT_COLS "id, name, system_prompt, model, created_at, updated_at"
#define CHAT_PG_SUBJECT_COLS "id, title, description, created_by, created_at, updated_at"
#define CHAT_PG_PROFILE_COLS "user_id, work_history, education, projects, skills, updated_at"
#define CHAT_PG_AUDIT_COLS "id, at, actor, action, target_type, target_id, conversation_id, detail"

// Row `i` of `r`, from column `first` (each reads its column list above).
Conversation read_conversation(const Rows& r, int i, int first = 0);
// `attachment_count` says whether attachments must be loaded.
Message read_message(const Rows& r, int i, std::int64_t& attachment_count, int first = 0);
Agent read_agent(const Rows& r, int i);
Subject read_subject(const Rows& r, int i);
Profile read_profile(const Rows& r, int i);
AuditEntry read_audit_entry(const Rows& r, int i);

void load_attachments(Conn& c, Message& m);

// The messages of a result whose rows start with CHAT_PG_MSG_COLS, with
// their attachments (loaded only for rows that have some).
std::vector<Message> collect_messages(Conn& c, const Rows& r);
// Attachments of the messages that have some (`counts`: attachment_count of each).
void load_attachments(Conn& c, std::vector<Message>& ms, const std::vector<std::int64_t>& counts);

struct PageQuery {
  std::string rows_sql;   // takes `params`, then LIMIT $n+1 OFFSET $n+2, appended or in place of "{page}"
  std::string count_sql;  // SELECT COUNT(*) taking the same `params`
  Params params;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  std::optional<std::int64_t> total;  // already known: count_sql is not run
  ByteBudget budget;
};

// Runs in the caller's read snapshot (Database::read). `read(const Rows&,
// int row)` makes a T; each is offered to the page's ByteBudget
// (stored_bytes) in order and the page ends at the first refusal. With a byte
// budget the rows come through a cursor 16 at a time, so rows past the
// budget are never read (as SQLite steps its statement).
template <typename T, typename Read>
Page<T> fetch_page(Conn& c, const PageQuery& q, Read&& read) {
  Page<T> page;
  Params p = q.params;
  std::string sql = q.rows_sql;
  std::string window = " LIMIT " + arg(p, q.limit);
  window += " OFFSET " + arg(p, q.offset);
  if (const auto at = sql.find("{page}"); at != std::string::npos) {
    sql.replace(at, 6, window);
  } else {
    sql += window;
  }
  PageBytes bytes(q.budget);
  auto take = [&](const Rows& rows) {
    for (int i = 0; i < rows.size(); ++i) {
      T item = read(rows, i);
      if (!bytes.admit(stored_bytes(item))) return false;
      page.items.push_back(std::move(item));
    }
    return true;
  };
  if (q.budget.max_bytes == 0) {
    take(c.exec(sql, p));
  } else {
    constexpr int kChunk = 16;
    c.exec_unprepared("DECLARE chat_page NO SCROLL CURSOR FOR " + sql, p);
    for (;;) {
      const Rows rows = c.exec_unprepared("FETCH 16 FROM chat_page", {});
      if (!take(rows) || rows.size() < kChunk) break;
    }
    c.run("CLOSE chat_page");
  }
  page.total = q.total ? *q.total : c.exec(q.count_sql, q.params).i64(0, 0);
  page.has_more = q.offset + static_cast<std::int64_t>(page.items.size()) < page.total;
  return page;
}

}  // namespace chat::pg
