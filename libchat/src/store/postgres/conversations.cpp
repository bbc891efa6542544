#include "store/postgres/conversations.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "chat/text.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/postgres/audit.hpp"
#include "store/postgres/event_log.hpp"
#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

Result<Conversation> visible(const Rows& r, bool include_deleted) {
  if (r.empty()) return Error::not_found("conversation not found");
  auto c = read_conversation(r, 0);
  if (c.deleted_at && !include_deleted) return Error::not_found("conversation not found");
  return c;
}

// The text list_conversations' search looks in (schema.cpp, conversations.folded).
std::string folded_of(const std::string& handle, const std::string& external_user_id, const std::string& title) {
  return fold_case(handle) + '\x01' + fold_case(external_user_id) + '\x01' + fold_case(title);
}

}  // namespace

Result<Conversation> load_conversation(Conn& c, std::int64_t id, bool include_deleted) {
  return visible(c.exec("SELECT " CHAT_PG_CONV_COLS " FROM conversations c WHERE c.id = $1", Params().add(id)),
                 include_deleted);
}

Result<Conversation> lock_conversation(Conn& w, std::int64_t id, bool include_deleted) {
  return visible(
      w.exec("SELECT " CHAT_PG_CONV_COLS " FROM conversations c WHERE c.id = $1 FOR UPDATE", Params().add(id)),
      include_deleted);
}

Result<Conversation> Conversations::prepare(const NewConversation& in, Timestamp now) {
  return detail::new_conversation_row(in, now);
}

void Conversations::insert(Conn& w, Conversation& c) {
  Params p;
  p.add(c.uuid).text_or_null(c.handle).add(to_string(c.kind)).add(c.type).add(c.user_id).add(c.external_user_id);
  p.add(c.name).add(c.email).add(c.agent_id).add(c.subject).add(c.title).add(c.status).add(c.is_archived);
  p.add(c.is_pinned).add(c.expires_at).add(c.metadata).add(c.initial_context).add(c.created_at).add(c.updated_at);
  p.add(folded_of(c.handle, c.external_user_id, c.title));
  const Rows r = w.exec(
      "INSERT INTO conversations (uuid, handle, kind, type, user_id, external_user_id, name, email, agent_id, "
      "subject, title, status, is_archived, is_pinned, is_active, expires_at, metadata, initial_context, "
      "created_at, updated_at, folded) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,1,$15,$16,$17,$18,$19,$20) "
      "RETURNING id",
      p);
  c.id = r.i64(0, 0);
  // A new row: no other transaction can write to it before this one commits.
  write_conversation_event(w, EventType::kConversationCreated, c, c.created_at);
}

Result<Conversation> Conversations::create(const NewConversation& in, Timestamp now) {
  return db_.guarded<Conversation>([&]() -> Result<Conversation> {
    CHAT_ASSIGN_OR_RETURN(const Conversation prepared, prepare(in, now));
    return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
      Conversation c = prepared;
      insert(w, c);
      return c;
    });
  });
}

Result<Conversation> Conversations::get(std::int64_t id, bool include_deleted) {
  return db_.read<Conversation>([&](Conn& r) { return load_conversation(r, id, include_deleted); }, false);
}

Result<Conversation> Conversations::find_by_uuid(std::string_view uuid, bool include_deleted) {
  if (never_stored(uuid)) return Error::not_found("conversation not found");
  return db_.read<Conversation>(
      [&](Conn& r) {
        return visible(r.exec("SELECT " CHAT_PG_CONV_COLS " FROM conversations c WHERE c.uuid = $1",
                              Params().add(uuid)),
                       include_deleted);
      },
      false);
}

Result<Conversation> Conversations::find_by_handle(std::string_view handle, bool include_deleted) {
  if (handle.empty() || never_stored(handle)) return Error::not_found("conversation not found");
  return db_.read<Conversation>(
      [&](Conn& r) {
        return visible(r.exec("SELECT " CHAT_PG_CONV_COLS " FROM conversations c WHERE c.handle = $1",
                              Params().add(handle)),
                       include_deleted);
      },
      false);
}

Result<Page<Conversation>> Conversations::list(const ConversationQuery& q) {
  return db_.guarded<Page<Conversation>>([&]() -> Result<Page<Conversation>> {
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    auto& params = page.params;
    std::string where = " WHERE TRUE";
    if (!q.include_deleted) where += " AND c.deleted_at IS NULL";
    if (q.kind) where += " AND c.kind = " + arg(params, std::string(to_string(*q.kind)));
    if (q.user_id) where += " AND " + text_equals(params, "c.user_id", *q.user_id);
    if (q.external_user_id) where += " AND " + text_equals(params, "c.external_user_id", *q.external_user_id);
    if (q.subject) where += " AND " + text_equals(params, "c.subject", *q.subject);
    if (q.agent_id) where += " AND c.agent_id = " + arg(params, *q.agent_id);
    if (q.is_active) where += " AND c.is_active = " + arg(params, std::int64_t{*q.is_active ? 1 : 0});
    if (q.is_archived) where += " AND c.is_archived = " + arg(params, std::int64_t{*q.is_archived ? 1 : 0});
    // Case-insensitive by chat::fold_case (Unicode), the needle literal.
    if (!q.search.empty()) where += " AND strpos(c.folded, " + arg(params, fold_case(q.search)) + ") > 0";
    if (q.since_id > 0) where += " AND c.id > " + arg(params, q.since_id);
    const char* order = q.order == ConversationOrder::kNewestFirst
                            ? " ORDER BY c.created_at DESC, c.id DESC"
                            : " ORDER BY c.is_pinned DESC, COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC";
    page.count_sql = "SELECT COUNT(*) FROM conversations c" + where;
    page.rows_sql = "SELECT " CHAT_PG_CONV_COLS " FROM conversations c" + where + order;
    return db_.read<Page<Conversation>>([&](Conn& r) -> Result<Page<Conversation>> {
      return fetch_page<Conversation>(r, page, [](const Rows& rows, int i) { return read_conversation(rows, i); });
    });
  });
}

Result<Conversation> Conversations::update(std::int64_t id, const ConversationPatch& p, Timestamp now) {
  return db_.guarded<Conversation>([&]() -> Result<Conversation> {
    std::optional<std::string> meta;
    if (p.metadata) {
      CHAT_ASSIGN_OR_RETURN(meta, detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes));
    }
    return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
      CHAT_ASSIGN_OR_RETURN(const Conversation cur, lock_conversation(w, id, false));
      Params ps;
      ps.add(p.title).add(p.status).add(p.is_archived).add(p.is_pinned).add(p.is_active).add(meta);
      ps.add(p.initial_context).add(p.agent_id).add(p.expires_at).add(now).add(id);
      ps.add(folded_of(cur.handle, cur.external_user_id, p.title.value_or(cur.title)));
      const Rows r = w.exec(
          "UPDATE conversations c SET title = COALESCE($1, title), status = COALESCE($2, status), "
          "is_archived = COALESCE($3::integer, is_archived), is_pinned = COALESCE($4::integer, is_pinned), "
          "is_active = COALESCE($5::integer, is_active), metadata = COALESCE($6, metadata), "
          "initial_context = COALESCE($7, initial_context), agent_id = COALESCE($8::bigint, agent_id), "
          "expires_at = COALESCE($9::bigint, expires_at), updated_at = $10, folded = $12 WHERE id = $11 "
          "RETURNING " CHAT_PG_CONV_COLS,
          ps);
      Conversation updated = read_conversation(r, 0);
      write_conversation_event(w, EventType::kConversationUpdated, updated, now);
      return updated;
    });
  });
}

Status Conversations::soft_delete(std::int64_t id, const AuditContext& audit) {
  return db_.write<void>([&](Conn& w) -> Status {
    const Rows r = w.exec(
        "UPDATE conversations c SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL RETURNING " CHAT_PG_CONV_COLS,
        Params().add(audit.at).add(id));
    if (r.empty()) return Error::not_found("conversation not found");
    write_audit(w, audit, "conversation.delete", "conversation", id, id, "{}");
    write_conversation_event(w, EventType::kConversationDeleted, read_conversation(r, 0), audit.at);
    return {};
  });
}

Result<Conversation> Conversations::restore(std::int64_t id, const AuditContext& audit) {
  return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
    const Rows r = w.exec(
        "UPDATE conversations c SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL "
        "RETURNING " CHAT_PG_CONV_COLS,
        Params().add(id));
    if (r.empty()) return Error::not_found("no deleted conversation with this id");
    write_audit(w, audit, "conversation.restore", "conversation", id, id, "{}");
    Conversation restored = read_conversation(r, 0);
    write_conversation_event(w, EventType::kConversationRestored, restored, audit.at);
    return restored;
  });
}

Result<std::int64_t> Conversations::clear(std::int64_t id, const AuditContext& audit) {
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    CHAT_RETURN_IF_ERROR(lock_conversation(w, id, false));
    const std::int64_t n =
        w.exec("UPDATE messages SET deleted_at = $1 WHERE conversation_id = $2 AND deleted_at IS NULL",
               Params().add(audit.at).add(id))
            .affected();
    const Rows r = w.exec(
        "UPDATE conversations c SET total_messages = 0, unread_count = 0, total_tokens = 0, "
        "last_message_at = NULL, updated_at = $1 WHERE id = $2 RETURNING " CHAT_PG_CONV_COLS,
        Params().add(audit.at).add(id));
    write_audit(w, audit, "conversation.clear", "conversation", id, id, audit_detail_count("deleted_count", n));
    // One event, whatever the count.
    write_conversation_event(w, EventType::kConversationCleared, read_conversation(r, 0), audit.at);
    return n;
  });
}

// mark_read sets status `read` on messages between the previous mark and the
// new one; those at or below the previous mark were set when it moved.
Result<Conversation> Conversations::mark_read(std::int64_t conversation_id, std::int64_t up_to, Timestamp now) {
  return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
    CHAT_ASSIGN_OR_RETURN(const Conversation cur, lock_conversation(w, conversation_id, false));
    const std::int64_t old_mark = cur.last_read_message_id;
    const std::int64_t last =
        w.exec("SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = $1", Params().add(conversation_id))
            .i64(0, 0);
    const std::int64_t mark = std::max(old_mark, std::min(up_to, last));
    if (mark > old_mark) {
      w.exec(
          "UPDATE messages SET status = 'read', updated_at = $1 WHERE conversation_id = $2 AND id > $3 AND id <= $4 "
          "AND deleted_at IS NULL AND role <> 'user' AND status = 'sent'",
          Params().add(now).add(conversation_id).add(old_mark).add(mark));
    }
    const Rows r = w.exec(
        "UPDATE conversations c SET last_read_message_id = $1, updated_at = $2, unread_count = "
        "(SELECT COUNT(*) FROM messages WHERE conversation_id = $3 AND id > $1 AND deleted_at IS NULL "
        "AND role <> 'user') WHERE id = $3 RETURNING " CHAT_PG_CONV_COLS,
        Params().add(mark).add(now).add(conversation_id));
    Conversation read = read_conversation(r, 0);
    if (mark > old_mark) write_conversation_event(w, EventType::kConversationRead, read, now);
    return read;
  });
}

}  // namespace chat::pg
