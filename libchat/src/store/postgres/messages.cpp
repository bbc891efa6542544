#include "store/postgres/messages.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/text.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/postgres/audit.hpp"
#include "store/postgres/conversations.hpp"
#include "store/postgres/event_log.hpp"
#include "store/postgres/rows.hpp"
#include "store/postgres/search_index.hpp"

namespace chat::pg {

namespace {

// Moves the counters of `m`'s conversation by one message (delta = -1 on
// delete, +1 on restore), then recomputes last_message_at.
void adjust_counters(Conn& w, const Message& m, int delta, Timestamp at) {
  w.exec(
      "UPDATE conversations SET total_messages = total_messages + $1, total_tokens = total_tokens + $2, "
      "unread_count = unread_count + CASE WHEN $3 = 1 AND $4 > last_read_message_id THEN $1 ELSE 0 END, "
      "last_message_at = (SELECT created_at FROM messages WHERE conversation_id = $5 AND deleted_at IS NULL "
      "ORDER BY id DESC LIMIT 1), updated_at = $6 WHERE id = $5",
      Params()
          .add(std::int64_t{delta})
          .add(delta * m.tokens_used.value_or(0))
          .add(m.role == Role::kUser ? 0 : 1)
          .add(m.id)
          .add(m.conversation_id)
          .add(at));
}


std::vector<Message> live_by_client_id(Conn& c, std::int64_t conversation_id, std::string_view client_id) {
  return collect_messages(
      c, c.exec("SELECT " CHAT_PG_MSG_COLS
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.conversation_id = $1 AND m.client_id = $2 AND m.deleted_at IS NULL AND c.deleted_at IS NULL",
                Params().add(conversation_id).add(client_id)));
}

}  // namespace

Result<Message> load_message(Conn& c, std::int64_t id, bool include_deleted) {
  const Rows r = c.exec("SELECT " CHAT_PG_MSG_COLS
                        ", c.deleted_at FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                        "WHERE m.id = $1",
                        Params().add(id));
  if (r.empty()) return Error::not_found("message not found");
  std::int64_t n = 0;
  Message m = read_message(r, 0, n);
  const bool conv_deleted = !r.is_null(0, kMsgColCount);
  if ((m.deleted_at || conv_deleted) && !include_deleted) return Error::not_found("message not found");
  if (n > 0) load_attachments(c, m);
  return m;
}

Result<AppendOutcome> Messages::prepare(std::int64_t conversation_id, const NewMessage& m, Timestamp now) {
  AppendOutcome out;
  CHAT_ASSIGN_OR_RETURN(out.message, detail::new_message_row(conversation_id, m, now));
  return out;
}

// Order matters (database.hpp, "Cursors"): the conversation row is locked
// first, then the precondition and the client_id lookup see the row and the
// messages as committed by every earlier append of the conversation, and only
// then is the message id drawn (by the INSERT), then the event id.
Result<AppendOutcome> Messages::insert(Conn& w, std::int64_t conversation_id, const NewMessage& m,
                                       const AppendOutcome& prepared, const AppendPrecondition& precondition) {
  AppendOutcome out = prepared;
  Message& msg = out.message;
  msg.conversation_id = conversation_id;
  const Timestamp now = msg.created_at;
  CHAT_ASSIGN_OR_RETURN(const Conversation c, lock_conversation(w, conversation_id, false));
  if (precondition) {
    Status admitted;
    try {
      admitted = precondition(c);
    } catch (...) {  // NOLINT: a throwing precondition refuses the append
      db_.log(LogLevel::kError, "postgres store: an append precondition threw");
      return Error::internal("internal error");
    }
    CHAT_RETURN_IF_ERROR(admitted);
  }
  if (!m.client_id.empty()) {
    auto found = live_by_client_id(w, conversation_id, m.client_id);
    if (!found.empty()) return AppendOutcome{std::move(found.front()), false};
  }
  const std::string folded = fold_case(msg.content);
  Params p;
  p.add(msg.uuid).add(conversation_id).text_or_null(msg.client_id).add(to_string(msg.role)).add(msg.content);
  p.add(msg.content_type).add(msg.message_type).add(to_string(msg.status)).add(msg.metadata).add(msg.tokens_used);
  p.add(msg.processing_time).add(msg.cost).add(static_cast<std::int64_t>(m.attachments.size())).add(now);
  if (m.content_tokens) {
    p.add(m.content_tokens->tokens).add(m.content_tokens->counter);
  } else {
    p.null().null();
  }
  p.add(folded).add(search_words(folded));
  // The unique index on live client_ids decides a race the lookup above
  // cannot see (none while the row lock is held; kept as the rule of record):
  // nothing is inserted and the existing message is returned.
  const Rows r = w.exec(
      "INSERT INTO messages (uuid, conversation_id, client_id, role, content, content_type, message_type, "
      "status, metadata, tokens_used, processing_time, cost, attachment_count, created_at, updated_at, "
      "token_count, token_counter, content_folded, search_tsv) VALUES "
      "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15,$16,$17,to_tsvector('simple', $18)) "
      "ON CONFLICT (conversation_id, client_id) WHERE client_id IS NOT NULL AND deleted_at IS NULL DO NOTHING "
      "RETURNING id",
      p);
  if (r.empty()) {
    auto found = live_by_client_id(w, conversation_id, m.client_id);
    if (found.empty()) return Error::conflict("client_id", "a live message of this conversation uses this client_id");
    return AppendOutcome{std::move(found.front()), false};
  }
  msg.id = r.i64(0, 0);
  // A new id is always above last_read_message_id (marks are clamped to
  // existing ids), so a non-user message is always unread.
  w.exec(
      "UPDATE conversations SET total_messages = total_messages + 1, unread_count = unread_count + $1, "
      "total_tokens = total_tokens + $2, last_message_at = $3, updated_at = $3 WHERE id = $4",
      Params().add(msg.role == Role::kUser ? 0 : 1).add(msg.tokens_used.value_or(0)).add(now).add(conversation_id));

  for (const auto& a : m.attachments) {
    const Rows ar = w.exec(
        "INSERT INTO message_attachments (message_id, file_name, file_type, file_size, file_path, created_at) "
        "VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
        Params().add(msg.id).add(a.file_name).add(a.file_type).add(a.file_size).add(a.file_path).add(now));
    msg.attachments.push_back(Attachment{ar.i64(0, 0), msg.id, a.file_name, a.file_type, a.file_size, a.file_path, now});
  }
  write_message_event(w, EventType::kMessageCreated, msg, now);
  return out;
}

Result<AppendOutcome> Messages::append(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                                       const AppendPrecondition& precondition) {
  return db_.guarded<AppendOutcome>([&]() -> Result<AppendOutcome> {
    CHAT_ASSIGN_OR_RETURN(const AppendOutcome out, prepare(conversation_id, m, now));
    return db_.write<AppendOutcome>(
        [&](Conn& w) -> Result<AppendOutcome> { return insert(w, conversation_id, m, out, precondition); });
  });
}

Result<Message> Messages::get(std::int64_t id, bool include_deleted) {
  return db_.read<Message>([&](Conn& r) { return load_message(r, id, include_deleted); });
}

Result<Message> Messages::find_by_uuid(std::string_view uuid, bool include_deleted) {
  if (never_stored(uuid)) return Error::not_found("message not found");
  return db_.read<Message>([&](Conn& r) -> Result<Message> {
    const Rows s = r.exec("SELECT id FROM messages WHERE uuid = $1", Params().add(uuid));
    if (s.empty()) return Error::not_found("message not found");
    return load_message(r, s.i64(0, 0), include_deleted);
  });
}

Result<Message> Messages::find_by_client_id(std::int64_t conversation_id, std::string_view client_id) {
  if (client_id.empty() || never_stored(client_id)) return Error::not_found("message not found");
  return db_.read<Message>([&](Conn& r) -> Result<Message> {
    auto found = live_by_client_id(r, conversation_id, client_id);
    if (found.empty()) return Error::not_found("message not found");
    return std::move(found.front());
  });
}

Result<Page<Message>> Messages::list(std::int64_t conversation_id, const MessageQuery& q) {
  return db_.guarded<Page<Message>>([&]() -> Result<Page<Message>> {
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    auto& params = page.params;
    std::string where = " WHERE m.conversation_id = " + arg(params, conversation_id);
    if (!q.include_deleted) where += " AND m.deleted_at IS NULL";
    if (q.role) where += " AND m.role = " + arg(params, std::string(to_string(*q.role)));
    if (!q.include_system) where += " AND m.role <> 'system'";
    // Case-insensitive by chat::fold_case (Unicode), the needle literal.
    if (!q.search.empty()) where += " AND strpos(m.content_folded, " + arg(params, fold_case(q.search)) + ") > 0";
    if (q.after_id > 0) where += " AND m.id > " + arg(params, q.after_id);
    if (q.before_id > 0) where += " AND m.id < " + arg(params, q.before_id);
    const bool filtered =
        q.role || !q.include_system || !q.search.empty() || q.after_id > 0 || q.before_id > 0 || q.include_deleted;
    page.count_sql = "SELECT COUNT(*) FROM messages m" + where;
    page.rows_sql = "SELECT " CHAT_PG_MSG_COLS " FROM messages m" + where + " ORDER BY m.id " +
                    (q.newest_first ? "DESC" : "ASC");
    return db_.read<Page<Message>>([&](Conn& r) -> Result<Page<Message>> {
      CHAT_ASSIGN_OR_RETURN(const Conversation conv, load_conversation(r, conversation_id, q.include_deleted));
      if (!filtered) page.total = conv.total_messages;
      std::vector<std::int64_t> counts;
      auto out = fetch_page<Message>(r, page, [&](const Rows& rows, int i) {
        std::int64_t n = 0;
        Message m = read_message(rows, i, n);
        counts.push_back(n);
        return m;
      });
      load_attachments(r, out.items, counts);
      return out;
    });
  });
}

Result<std::vector<ContextMessage>> Messages::list_context(std::int64_t conversation_id, const ContextQuery& q) {
  if (q.limit < 0) return Error::invalid("limit", "limit must not be negative");
  return db_.read<std::vector<ContextMessage>>([&](Conn& r) -> Result<std::vector<ContextMessage>> {
    if (r.exec("SELECT 1 FROM conversations WHERE id = $1 AND deleted_at IS NULL", Params().add(conversation_id))
            .empty())
      return Error::not_found("conversation not found");
    std::vector<ContextMessage> out;
    if (q.limit == 0) return out;
    // Chunks of a cursor, so that max_bytes bounds what is read.
    r.exec_unprepared(
        "DECLARE chat_context NO SCROLL CURSOR FOR "
        "SELECT id, role, content, CASE WHEN token_counter = $3 THEN token_count END FROM messages "
        "WHERE conversation_id = $1 AND id < $2 AND deleted_at IS NULL AND role IN ('user', 'assistant', 'agent') "
        "AND status <> 'failed' AND content <> '' ORDER BY id DESC LIMIT $4",
        Params()
            .add(conversation_id)
            .add(q.before_id > 0 ? q.before_id : std::numeric_limits<std::int64_t>::max())
            .add(q.counter)
            .add(q.limit));
    std::size_t bytes = 0;
    bool done = false;
    while (!done) {
      const Rows s = r.exec_unprepared("FETCH 32 FROM chat_context", {});
      if (s.size() < 32) done = true;
      for (int i = 0; i < s.size(); ++i) {
        if (q.max_bytes != 0 && bytes > q.max_bytes) {
          done = true;
          break;
        }
        ContextMessage m;
        m.id = s.i64(i, 0);
        m.role = parse_role(s.view(i, 1)).value_or(Role::kUser);
        m.content = s.text(i, 2);
        m.tokens = s.opt_i64(i, 3);
        bytes += m.content.size();
        out.push_back(std::move(m));
      }
    }
    r.run("CLOSE chat_context");
    return out;
  });
}

Result<Message> Messages::update(std::int64_t id, const MessagePatch& p, const AuditContext& audit) {
  const Timestamp now = audit.at;
  return db_.guarded<Message>([&]() -> Result<Message> {
    std::optional<std::string> meta;
    if (p.metadata) {
      CHAT_ASSIGN_OR_RETURN(meta, detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes));
    }
    if (p.tokens_used && *p.tokens_used < 0) return Error::invalid("tokens_used", "tokens_used must not be negative");
    CHAT_RETURN_IF_ERROR(detail::check_token_count(p.content_tokens));
    std::optional<std::string> folded;
    std::optional<std::string> words;
    if (p.content) {
      folded = fold_case(*p.content);
      words = search_words(*folded);
    }
    return db_.write<Message>([&](Conn& w) -> Result<Message> {
      CHAT_ASSIGN_OR_RETURN(const Message peek, load_message(w, id, false));
      CHAT_RETURN_IF_ERROR(lock_conversation(w, peek.conversation_id, false));
      // Read again under the lock: an edit or delete committed meanwhile counts.
      CHAT_ASSIGN_OR_RETURN(const Message cur, load_message(w, id, false));
      const std::int64_t version =
          w.exec("SELECT COALESCE(MAX(version), 0) + 1 FROM message_versions WHERE message_id = $1", Params().add(id))
              .i64(0, 0);
      w.exec(
          "INSERT INTO message_versions (message_id, version, content, metadata, written_at, replaced_at, "
          "replaced_by) VALUES ($1,$2,$3,$4,$5,$6,$7)",
          Params().add(id).add(version).add(cur.content).add(cur.metadata).add(cur.updated_at).add(now).add(
              audit.actor));
      write_audit(w, audit, "message.edit", "message", id, cur.conversation_id, audit_detail_count("version", version));
      const bool content_changed = p.content && *p.content != cur.content;
      Params ps;
      ps.add(p.content).add(meta).add(p.status ? std::optional<std::string>(to_string(*p.status)) : std::nullopt);
      ps.add(p.tokens_used).add(p.processing_time).add(p.cost).add(now).add(id).add(folded).add(words);
      w.exec(
          "UPDATE messages SET content = COALESCE($1, content), metadata = COALESCE($2, metadata), "
          "status = COALESCE($3, status), tokens_used = COALESCE($4::bigint, tokens_used), "
          "processing_time = COALESCE($5::double precision, processing_time), "
          "cost = COALESCE($6::double precision, cost), updated_at = $7, "
          "content_folded = COALESCE($9, content_folded), "
          "search_tsv = COALESCE(to_tsvector('simple', $10::text), search_tsv) WHERE id = $8",
          ps);
      if (p.content_tokens || content_changed) {
        // A count belongs to the content it counted.
        Params pt;
        if (p.content_tokens) {
          pt.add(p.content_tokens->tokens).add(p.content_tokens->counter);
        } else {
          pt.null().null();
        }
        w.exec("UPDATE messages SET token_count = $1, token_counter = $2 WHERE id = $3", pt.add(id));
      }
      if (p.tokens_used && *p.tokens_used != cur.tokens_used.value_or(0)) {
        w.exec("UPDATE conversations SET total_tokens = total_tokens + $1, updated_at = $2 WHERE id = $3",
               Params().add(*p.tokens_used - cur.tokens_used.value_or(0)).add(now).add(cur.conversation_id));
      }
      CHAT_ASSIGN_OR_RETURN(Message updated, load_message(w, id, false));
      write_message_event(w, EventType::kMessageUpdated, updated, now);
      return updated;
    });
  });
}

Result<std::vector<MessageVersion>> Messages::versions(std::int64_t message_id) {
  return db_.read<std::vector<MessageVersion>>([&](Conn& r) -> Result<std::vector<MessageVersion>> {
    if (r.exec("SELECT 1 FROM messages WHERE id = $1", Params().add(message_id)).empty())
      return Error::not_found("message not found");
    const Rows s = r.exec(
        "SELECT version, content, metadata, written_at, replaced_at, replaced_by FROM message_versions "
        "WHERE message_id = $1 ORDER BY version",
        Params().add(message_id));
    std::vector<MessageVersion> out;
    for (int i = 0; i < s.size(); ++i) {
      MessageVersion v;
      v.message_id = message_id;
      v.version = s.i64(i, 0);
      v.content = s.text(i, 1);
      v.metadata = s.text(i, 2);
      v.written_at = s.time(i, 3);
      v.replaced_at = s.time(i, 4);
      v.replaced_by = s.text(i, 5);
      out.push_back(std::move(v));
    }
    return out;
  });
}

Status Messages::soft_delete(std::int64_t id, const AuditContext& audit) {
  return db_.write<void>([&](Conn& w) -> Status {
    CHAT_ASSIGN_OR_RETURN(const Message peek, load_message(w, id, false));
    CHAT_RETURN_IF_ERROR(lock_conversation(w, peek.conversation_id, false));
    CHAT_ASSIGN_OR_RETURN(Message cur, load_message(w, id, false));
    w.exec("UPDATE messages SET deleted_at = $1 WHERE id = $2", Params().add(audit.at).add(id));
    adjust_counters(w, cur, -1, audit.at);
    write_audit(w, audit, "message.delete", "message", id, cur.conversation_id, "{}");
    cur.deleted_at = audit.at;
    write_message_event(w, EventType::kMessageDeleted, cur, audit.at);
    return {};
  });
}

Result<Message> Messages::restore(std::int64_t id, const AuditContext& audit) {
  return db_.write<Message>([&](Conn& w) -> Result<Message> {
    auto peek = load_message(w, id, true);
    if (!peek || !peek->deleted_at) return Error::not_found("no deleted message with this id");
    if (!lock_conversation(w, peek->conversation_id, false))
      return Error::not_found("the conversation of this message is deleted");
    auto cur = load_message(w, id, true);
    if (!cur || !cur->deleted_at) return Error::not_found("no deleted message with this id");
    if (!cur->client_id.empty() &&
        !w.exec("SELECT 1 FROM messages WHERE conversation_id = $1 AND client_id = $2 AND deleted_at IS NULL",
                Params().add(cur->conversation_id).add(cur->client_id))
             .empty())
      return Error::conflict("client_id", "a live message of this conversation already uses this client_id");
    w.exec("UPDATE messages SET deleted_at = NULL WHERE id = $1", Params().add(id));
    adjust_counters(w, *cur, +1, audit.at);
    write_audit(w, audit, "message.restore", "message", id, cur->conversation_id, "{}");
    CHAT_ASSIGN_OR_RETURN(Message restored, load_message(w, id, false));
    write_message_event(w, EventType::kMessageRestored, restored, audit.at);
    return restored;
  });
}

Result<std::int64_t> Messages::last_id() { return db_.head_id(kMessageHeadSql); }

}  // namespace chat::pg
