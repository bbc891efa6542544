// Between domain values and SQLite rows: binding helpers, the column lists
// every query selects, and the mapping of a row to a domain type. Stored
// conventions (schema.cpp): times are INTEGER milliseconds since the epoch,
// JSON columns hold compact text, unique optional text is NULL when absent.
// Private to libchat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"
#include "store/new_rows.hpp"
#include "store/page_budget.hpp"
#include "store/sqlite/connection.hpp"

namespace chat::sqlite {

using detail::kMaxMetadataBytes;
using detail::normalize_metadata;
inline constexpr std::size_t kMaxProfileSectionBytes = 1024 * 1024;

// ---- binding ------------------------------------------------------------------

// A parameter of SQL built from filters, bound in order.
using Param = std::variant<std::int64_t, std::string>;

void bind_all(SQLite::Statement& s, const std::vector<Param>& params, int first = 1);
// nullopt binds NULL.
void bind_opt(SQLite::Statement& s, int i, const std::optional<std::int64_t>& v);
void bind_opt(SQLite::Statement& s, int i, const std::optional<double>& v);
void bind_opt(SQLite::Statement& s, int i, const std::optional<Timestamp>& v);
void bind_opt(SQLite::Statement& s, int i, const std::optional<std::string>& v);
void bind_opt(SQLite::Statement& s, int i, const std::optional<bool>& v);  // as 0 / 1
// Empty text is stored as NULL where uniqueness must ignore absent values.
void bind_text_or_null(SQLite::Statement& s, int i, const std::string& v);


// ---- column lists ---------------------------------------------------------------
// Every query aliases conversations as c and messages as m. Macros, so that
// SQL built from them stays a string literal (literals are cached by address;
// see Conn::prepare_static).

#define CHAT_CONV_COLS                                                                                      \
  "c.id, c.uuid, c.handle, c.kind, c.type, c.user_id, c.external_user_id, c.name, c.email, c.agent_id, "  \
  "c.subject, c.title, c.status, c.is_archived, c.is_pinned, c.is_active, c.expires_at, c.metadata, "     \
  "c.initial_context, c.total_messages, c.unread_count, c.total_tokens, c.last_read_message_id, "         \
  "c.last_message_at, c.created_at, c.updated_at, c.deleted_at"
inline constexpr const char* kConvCols = CHAT_CONV_COLS;

#define CHAT_MSG_COLS                                                                                       \
  "m.id, m.uuid, m.conversation_id, m.client_id, m.role, m.content, m.content_type, m.message_type, "     \
  "m.status, m.metadata, m.tokens_used, m.processing_time, m.cost, m.created_at, m.updated_at, "           \
  "m.deleted_at, m.attachment_count"
inline constexpr const char* kMsgCols = CHAT_MSG_COLS;
inline constexpr int kMsgColCount = 17;

#define CHAT_AGENT_COLS "id, name, system_prompt, model, created_at, updated_at"
#define CHAT_SUBJECT_COLS "id, title, description, created_by, created_at, updated_at"
#define CHAT_PROFILE_COLS "user_id, work_history, education, projects, skills, updated_at"
#define CHAT_AUDIT_COLS "id, at, actor, action, target_type, target_id, conversation_id, detail"

// ---- rows -> domain types (each reads the columns of its list above) ---------

Conversation read_conversation(const SQLite::Statement& s);
// `attachment_count` says whether attachments must be loaded.
Message read_message(const SQLite::Statement& s, std::int64_t& attachment_count);
Agent read_agent(const SQLite::Statement& s);
Subject read_subject(const SQLite::Statement& s);
Profile read_profile(const SQLite::Statement& s);
AuditEntry read_audit_entry(const SQLite::Statement& s);

void load_attachments(Conn& c, Message& m);

// Steps a statement whose rows are messages (CHAT_MSG_COLS first); loads
// attachments only for the rows that have some (so a page without
// attachments costs one query). `extra` collects the REAL column after the
// message columns, `window_total` the INTEGER after that (search's score and
// window count). `bytes`, when given, ends the page at its byte budget
// (store/sqlite/paging.hpp).
using detail::PageBytes;
std::vector<Message> collect_messages(Conn& c, Stmt& s, std::vector<double>* extra = nullptr,
                                      std::int64_t* window_total = nullptr, PageBytes* bytes = nullptr);

}  // namespace chat::sqlite
