#include "store/sqlite/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/text.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/sqlite/audit.hpp"
#include "store/sqlite/conversations.hpp"
#include "store/sqlite/event_log.hpp"
#include "store/sqlite/paging.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/search_index.hpp"
#include "store/sqlite/text_functions.hpp"

namespace chat::sqlite {

namespace {

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

constexpr std::int64_t kDayMs = 86'400'000;
// Links longer than this are kept in activity_gaps (schema step 7; the same
// bound as its triggers and activity.cpp).
constexpr std::int64_t kKeptGapMs = 60'000;

// Seed 003 dashboard sums (schema step 7) for one append, in the append's
// transaction. The new message will be the newest live one of its
// conversation (ids only grow, one writer), so it only links after the
// previous live message: one seek on messages_live, a second only when that
// one is a system message. Done here, not by a trigger: the trigger looked
// the previous message up three times and cost 5-6 us per statement
// (bench/README.md, issue 11); the other write paths (delete, restore,
// clear, purge, status) keep their triggers. The per-conversation sums ride
// on the counters UPDATE of the conversation row (no statement or page of
// their own); the day's count and a long gap are written after the insert.
struct AppendLink {
  std::optional<std::int64_t> prev_at;  // created_at of the previous live message
  std::optional<std::int64_t> user_at;  // of the previous live non-system one, when it is a user's
};

AppendLink previous_live(Conn& w, std::int64_t conversation_id) {
  AppendLink out;
  std::string prev_role;
  {
    auto s = w.prepare_static(
        "SELECT created_at, role FROM messages WHERE conversation_id = ? AND deleted_at IS NULL "
        "ORDER BY id DESC LIMIT 1");
    s->bind(1, conversation_id);
    if (s->executeStep()) {
      out.prev_at = s->getColumn(0).getInt64();
      prev_role = s->getColumn(1).getString();
    }
  }
  // A reply link is user then assistant or agent, system messages skipped.
  if (out.prev_at && prev_role == "user") {
    out.user_at = out.prev_at;
  } else if (out.prev_at && prev_role == "system") {
    auto s = w.prepare_static(
        "SELECT created_at, role FROM messages WHERE conversation_id = ? AND deleted_at IS NULL "
        "AND role <> 'system' ORDER BY id DESC LIMIT 1");
    s->bind(1, conversation_id);
    if (s->executeStep() && s->getColumn(1).getString() == "user") out.user_at = s->getColumn(0).getInt64();
  }
  return out;
}

void add_append_days_and_gap(Conn& w, const Message& msg, const AppendLink& link) {
  const std::int64_t at = to_millis(msg.created_at);
  {
    auto s = w.prepare_static(
        "INSERT INTO activity_days (conversation_id, day, messages) VALUES (?, ?, 1) "
        "ON CONFLICT (conversation_id, day) DO UPDATE SET messages = messages + 1");
    s->bind(1, msg.conversation_id);
    s->bind(2, at >= 0 ? at / kDayMs : (at - (kDayMs - 1)) / kDayMs);
    s->exec();
  }
  if (link.prev_at && at - *link.prev_at > kKeptGapMs) {
    auto s = w.prepare_static(
        "INSERT OR REPLACE INTO activity_gaps (message_id, conversation_id, gap_ms) VALUES (?, ?, ?)");
    s->bind(1, msg.id);
    s->bind(2, msg.conversation_id);
    s->bind(3, at - *link.prev_at);
    s->exec();
  }
}


std::vector<Message> live_by_client_id(Conn& c, std::int64_t conversation_id, const std::string& client_id) {
  auto s = c.prepare_static("SELECT " CHAT_MSG_COLS
                            " FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                            "WHERE m.conversation_id = ? AND m.client_id = ? AND m.deleted_at IS NULL "
                            "AND c.deleted_at IS NULL");
  s->bind(1, conversation_id);
  s->bind(2, client_id);
  return collect_messages(c, s);
}

}  // namespace

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

std::int64_t last_assigned_message_id(Conn& c) {
  auto s = c.prepare_static("SELECT seq FROM sqlite_sequence WHERE name = 'messages'");
  return s->executeStep() ? s->getColumn(0).getInt64() : 0;
}

Result<AppendOutcome> Messages::prepare(std::int64_t conversation_id, const NewMessage& m, Timestamp now) {
  AppendOutcome out;
  CHAT_ASSIGN_OR_RETURN(out.message, detail::new_message_row(conversation_id, m, now));
  return out;
}

// Statements per append: BEGIN, [conversation row for the precondition],
// [client_id lookup], UPDATE of the counters (which doubles as the
// "conversation is live" check, and carries the dashboard sums after a
// lookup of the previous live message), INSERT, the day's count (an upsert),
// the event's INSERT, COMMIT. Fewer statements is most of
// what keeps append near a raw insert.
Result<AppendOutcome> Messages::insert(Conn& w, std::int64_t conversation_id, const NewMessage& m,
                                       AppendOutcome out, const AppendPrecondition& precondition) {
  Message& msg = out.message;
  msg.conversation_id = conversation_id;
  const Timestamp now = msg.created_at;
  if (precondition) {
    // Read by the writer in its own transaction: on a warm cache, and
    // nothing can change the row before the insert.
    CHAT_ASSIGN_OR_RETURN(const Conversation c, load_conversation(w, conversation_id, false));
    Status admitted;
    try {
      admitted = precondition(c);
    } catch (...) {  // NOLINT: a throwing precondition refuses the append
      db_.log(LogLevel::kError, "sqlite store: an append precondition threw");
      return Error::internal("internal error");
    }
    CHAT_RETURN_IF_ERROR(admitted);
  }
  if (!m.client_id.empty()) {
    // Checked in the same write transaction as the insert: two posts
    // with one client_id cannot both create a message.
    auto found = live_by_client_id(w, conversation_id, m.client_id);
    if (!found.empty()) return AppendOutcome{std::move(found.front()), false};
  }
  AppendLink append_link;
  {
    // A new id is always above last_read_message_id (marks are clamped
    // to existing ids), so a non-user message is always unread.
    const AppendLink link = previous_live(w, conversation_id);
    const std::int64_t at = to_millis(now);
    const bool assistant = msg.role == Role::kAssistant;
    const bool reply = link.user_at && (assistant || msg.role == Role::kAgent);
    auto s = w.prepare_static(
        "UPDATE conversations SET total_messages = total_messages + 1, unread_count = unread_count + ?, "
        "total_tokens = total_tokens + ?, last_message_at = ?, updated_at = ?, "
        "activity_messages = activity_messages + 1, activity_assistant = activity_assistant + ?, "
        "activity_failed = activity_failed + ?, activity_gap_ms = activity_gap_ms + ?, "
        "activity_replies = activity_replies + ?, activity_reply_ms = activity_reply_ms + ? "
        "WHERE id = ? AND deleted_at IS NULL");
    s->bind(1, msg.role == Role::kUser ? 0 : 1);
    s->bind(2, msg.tokens_used.value_or(0));
    s->bind(3, at);
    s->bind(4, at);
    s->bind(5, assistant ? 1 : 0);
    s->bind(6, assistant && msg.status == MessageStatus::kFailed ? 1 : 0);
    s->bind(7, link.prev_at ? at - *link.prev_at : 0);
    s->bind(8, reply ? 1 : 0);
    s->bind(9, reply ? at - *link.user_at : 0);
    s->bind(10, conversation_id);
    if (s->exec() == 0) return Error::not_found("conversation not found");
    append_link = link;
  }
  {
    auto s = w.prepare_static(
        "INSERT INTO messages (uuid, conversation_id, client_id, role, content, content_type, message_type, "
        "status, metadata, tokens_used, processing_time, cost, attachment_count, created_at, updated_at, "
        "token_count, token_counter) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
    if (m.content_tokens) {
      s->bind(16, m.content_tokens->tokens);
      s->bind(17, m.content_tokens->counter);
    } else {
      s->bind(16);
      s->bind(17);
    }
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
    msg.attachments.push_back(
        Attachment{w.db().getLastInsertRowid(), msg.id, a.file_name, a.file_type, a.file_size, a.file_path, now});
  }
  add_append_days_and_gap(w, msg, append_link);
  write_message_event(w, EventType::kMessageCreated, msg, now);
  // After the commit: this append may still be rolled back with its group.
  db_.on_commit([index = &index_, id = msg.id] { index->appended(id); });
  return out;
}

Result<AppendOutcome> Messages::append(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  // Preparing is done before taking the writer lock: it is the only costly
  // part that does not need the database.
  return db_.guarded<AppendOutcome>([&]() -> Result<AppendOutcome> {
    CHAT_ASSIGN_OR_RETURN(AppendOutcome out, prepare(conversation_id, m, now));
    return db_.write<AppendOutcome>(
        [&](Conn& w) -> Result<AppendOutcome> { return insert(w, conversation_id, m, std::move(out), precondition); });
  });
}

Result<Message> Messages::get(std::int64_t id, bool include_deleted) {
  return db_.read<Message>([&](Conn& r) { return load_message(r, id, include_deleted); });
}

Result<Message> Messages::find_by_uuid(std::string_view uuid, bool include_deleted) {
  return db_.read<Message>([&](Conn& r) -> Result<Message> {
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

Result<Message> Messages::find_by_client_id(std::int64_t conversation_id, std::string_view client_id) {
  if (client_id.empty()) return Error::not_found("message not found");
  return db_.read<Message>([&](Conn& r) -> Result<Message> {
    auto found = live_by_client_id(r, conversation_id, std::string(client_id));
    if (found.empty()) return Error::not_found("message not found");
    return std::move(found.front());
  });
}

Result<Page<Message>> Messages::list(std::int64_t conversation_id, const MessageQuery& q) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Page<Message>>([&]() -> Result<Page<Message>> {
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    auto& params = page.params;
    params.emplace_back(conversation_id);
    std::string where = " WHERE m.conversation_id = ?";
    if (!q.include_deleted) where += " AND m.deleted_at IS NULL";
    if (q.role) {
      where += " AND m.role = ?";
      params.emplace_back(std::string(to_string(*q.role)));
    }
    if (!q.include_system) where += " AND m.role != 'system'";
    if (!q.search.empty()) {
      // Case-insensitive by chat::fold_case (Unicode), the needle literal.
      where += " AND " + contains_folded_sql("m.content");
      params.emplace_back(fold_case(q.search));
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
    const bool filtered =
        q.role || !q.include_system || !q.search.empty() || q.after_id > 0 || q.before_id > 0 || q.include_deleted;
    page.count_sql = "SELECT COUNT(*) FROM messages m" + where;
    page.rows_sql = fmt::format("SELECT {} FROM messages m{} ORDER BY m.id {} LIMIT ? OFFSET ?", kMsgCols, where,
                                q.newest_first ? "DESC" : "ASC");
    return db_.read<Page<Message>>([&](Conn& r) -> Result<Page<Message>> {
      CHAT_ASSIGN_OR_RETURN(const Conversation conv, load_conversation(r, conversation_id, q.include_deleted));
      if (!filtered) page.total = conv.total_messages;
      return fetch_page<Message>(r, page, [&](Stmt& s, std::optional<std::int64_t>&, PageBytes& bytes) {
        return collect_messages(r, s, nullptr, nullptr, &bytes);
      });
    });
  });
}

Result<std::vector<ContextMessage>> Messages::list_context(std::int64_t conversation_id, const ContextQuery& q) {
  if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
  return db_.read<std::vector<ContextMessage>>([&](Conn& r) -> Result<std::vector<ContextMessage>> {
    {
      auto s = r.prepare_static("SELECT 1 FROM conversations WHERE id = ? AND deleted_at IS NULL");
      s->bind(1, conversation_id);
      if (!s->executeStep()) return Error::not_found("conversation not found");
    }
    std::vector<ContextMessage> out;
    if (q.limit == 0) return out;
    // The rule of detail::eligible_for_context, in SQL. The count comes back
    // only when the caller's counter made it. Walks messages_conversation
    // backwards from before_id and stops at the limit.
    auto s = r.prepare_static(
        "SELECT id, role, content, CASE WHEN token_counter = ?3 THEN token_count END FROM messages "
        "WHERE conversation_id = ?1 AND id < ?2 AND deleted_at IS NULL AND role IN ('user', 'assistant', 'agent') "
        "AND status != 'failed' AND content != '' ORDER BY id DESC LIMIT ?4");
    s->bind(1, conversation_id);
    s->bind(2, q.before_id > 0 ? q.before_id : std::numeric_limits<std::int64_t>::max());
    s->bindNoCopy(3, q.counter);
    s->bind(4, q.limit);
    out.reserve(static_cast<std::size_t>(std::min<std::int64_t>(q.limit, 256)));
    std::size_t bytes = 0;
    while ((q.max_bytes == 0 || bytes <= q.max_bytes) && s->executeStep()) {
      ContextMessage m;
      m.id = s->getColumn(0).getInt64();
      m.role = parse_role(s->getColumn(1).getText()).value_or(Role::kUser);
      const auto content = s->getColumn(2);
      m.content.assign(static_cast<const char*>(content.getBlob()), static_cast<std::size_t>(content.getBytes()));
      const auto tokens = s->getColumn(3);
      if (!tokens.isNull()) m.tokens = tokens.getInt64();
      bytes += m.content.size();
      out.push_back(std::move(m));
    }
    return out;
  });
}

Result<Message> Messages::update(std::int64_t id, const MessagePatch& p, const AuditContext& audit) {
  const Timestamp now = audit.at;
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Message>([&]() -> Result<Message> {
    std::optional<std::string> meta;
    if (p.metadata) {
      CHAT_ASSIGN_OR_RETURN(meta, detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes));
    }
    if (p.tokens_used && *p.tokens_used < 0) return Error::invalid("tokens_used", "tokens_used must not be negative");
    CHAT_RETURN_IF_ERROR(detail::check_token_count(p.content_tokens));
    bool edited_indexed = false;
    auto r = db_.write<Message>([&](Conn& w) -> Result<Message> {
      CHAT_ASSIGN_OR_RETURN(const Message cur, load_message(w, id, false));
      std::int64_t version = 1;
      {
        auto s = w.prepare_static("SELECT COALESCE(MAX(version), 0) + 1 FROM message_versions WHERE message_id = ?");
        s->bind(1, id);
        if (s->executeStep()) version = s->getColumn(0).getInt64();
      }
      {
        // What the edit replaces, kept before it is overwritten.
        auto s = w.prepare_static(
            "INSERT INTO message_versions (message_id, version, content, metadata, written_at, replaced_at, "
            "replaced_by) VALUES (?,?,?,?,?,?,?)");
        s->bind(1, id);
        s->bind(2, version);
        s->bind(3, cur.content);
        s->bind(4, cur.metadata);
        s->bind(5, to_millis(cur.updated_at));
        s->bind(6, to_millis(now));
        s->bind(7, audit.actor);
        s->exec();
      }
      write_audit(w, audit, "message.edit", "message", id, cur.conversation_id,
                  audit_detail_count("version", version));
      {
        auto s = w.prepare_static(
            "UPDATE messages SET content = COALESCE(?, content), metadata = COALESCE(?, metadata), "
            "status = COALESCE(?, status), tokens_used = COALESCE(?, tokens_used), "
            "processing_time = COALESCE(?, processing_time), cost = COALESCE(?, cost), updated_at = ? WHERE id = ?");
        bind_opt(*s, 1, p.content);
        bind_opt(*s, 2, meta);
        bind_opt(*s, 3, p.status ? std::optional<std::string>(to_string(*p.status)) : std::nullopt);
        bind_opt(*s, 4, p.tokens_used);
        bind_opt(*s, 5, p.processing_time);
        bind_opt(*s, 6, p.cost);
        s->bind(7, to_millis(now));
        s->bind(8, id);
        s->exec();
      }
      if (p.content_tokens || (p.content && *p.content != cur.content)) {
        // A count belongs to the content it counted: new content without a
        // count of its own leaves none (a window counts it when it reads it).
        auto s = w.prepare_static("UPDATE messages SET token_count = ?, token_counter = ? WHERE id = ?");
        if (p.content_tokens) {
          s->bind(1, p.content_tokens->tokens);
          s->bind(2, p.content_tokens->counter);
        } else {
          s->bind(1);
          s->bind(2);
        }
        s->bind(3, id);
        s->exec();
      }
      if (p.tokens_used && *p.tokens_used != cur.tokens_used.value_or(0)) {
        auto s = w.prepare_static("UPDATE conversations SET total_tokens = total_tokens + ?, updated_at = ? WHERE id = ?");
        s->bind(1, *p.tokens_used - cur.tokens_used.value_or(0));
        s->bind(2, to_millis(now));
        s->bind(3, cur.conversation_id);
        s->exec();
      }
      if (p.content && *p.content != cur.content) edited_indexed = index_.queue_edit(w, id);
      CHAT_ASSIGN_OR_RETURN(Message updated, load_message(w, id, false));
      write_message_event(w, EventType::kMessageUpdated, updated, now);
      return updated;
    });
    if (r && edited_indexed) index_.edited();
    return r;
  });
}

Result<std::vector<MessageVersion>> Messages::versions(std::int64_t message_id) {
  return db_.read<std::vector<MessageVersion>>([&](Conn& r) -> Result<std::vector<MessageVersion>> {
    {
      auto s = r.prepare_static("SELECT 1 FROM messages WHERE id = ?");
      s->bind(1, message_id);
      if (!s->executeStep()) return Error::not_found("message not found");
    }
    auto s = r.prepare_static(
        "SELECT version, content, metadata, written_at, replaced_at, replaced_by FROM message_versions "
        "WHERE message_id = ? ORDER BY version");
    s->bind(1, message_id);
    std::vector<MessageVersion> out;
    while (s->executeStep()) {
      MessageVersion v;
      v.message_id = message_id;
      v.version = s->getColumn(0).getInt64();
      v.content = s->getColumn(1).getString();
      v.metadata = s->getColumn(2).getString();
      v.written_at = from_millis(s->getColumn(3).getInt64());
      v.replaced_at = from_millis(s->getColumn(4).getInt64());
      v.replaced_by = s->getColumn(5).getString();
      out.push_back(std::move(v));
    }
    return out;
  });
}

Status Messages::soft_delete(std::int64_t id, const AuditContext& audit) {
  return db_.write<void>([&](Conn& w) -> Status {
    CHAT_ASSIGN_OR_RETURN(Message cur, load_message(w, id, false));
    auto s = w.prepare_static("UPDATE messages SET deleted_at = ? WHERE id = ?");
    s->bind(1, to_millis(audit.at));
    s->bind(2, id);
    s->exec();
    adjust_counters(w, cur, -1, audit.at);
    write_audit(w, audit, "message.delete", "message", id, cur.conversation_id, "{}");
    cur.deleted_at = audit.at;
    write_message_event(w, EventType::kMessageDeleted, cur, audit.at);
    return {};
  });
}

// A message whose conversation is deleted is not restored (kNotFound):
// restore the conversation first.
Result<Message> Messages::restore(std::int64_t id, const AuditContext& audit) {
  return db_.write<Message>([&](Conn& w) -> Result<Message> {
    auto cur = load_message(w, id, true);
    if (!cur || !cur->deleted_at) return Error::not_found("no deleted message with this id");
    if (!load_conversation(w, cur->conversation_id, false))
      return Error::not_found("the conversation of this message is deleted");
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
    CHAT_ASSIGN_OR_RETURN(Message restored, load_message(w, id, false));
    write_message_event(w, EventType::kMessageRestored, restored, audit.at);
    return restored;
  });
}

Result<std::int64_t> Messages::last_id() {
  return db_.read<std::int64_t>([&](Conn& r) -> Result<std::int64_t> { return last_assigned_message_id(r); });
}

}  // namespace chat::sqlite
