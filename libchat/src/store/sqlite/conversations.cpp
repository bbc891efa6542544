#include "store/sqlite/conversations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "chat/text.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/sqlite/audit.hpp"
#include "store/sqlite/event_log.hpp"
#include "store/sqlite/paging.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/text_functions.hpp"

namespace chat::sqlite {

namespace {

Result<Conversation> visible(const SQLite::Statement& s, bool include_deleted) {
  auto c = read_conversation(s);
  if (c.deleted_at && !include_deleted) return Error::not_found("conversation not found");
  return c;
}

}  // namespace

Result<Conversation> load_conversation(Conn& c, std::int64_t id, bool include_deleted) {
  auto s = c.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.id = ?");
  s->bind(1, id);
  if (!s->executeStep()) return Error::not_found("conversation not found");
  return visible(*s, include_deleted);
}

Result<Conversation> Conversations::prepare(const NewConversation& in, Timestamp now) {
  return detail::new_conversation_row(in, now);
}

void Conversations::insert(Conn& w, Conversation& c) {
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
  s->bind(18, to_millis(c.created_at));
  s->bind(19, to_millis(c.updated_at));
  s->exec();
  c.id = w.db().getLastInsertRowid();
  write_conversation_event(w, EventType::kConversationCreated, c, c.created_at);
}

Result<Conversation> Conversations::create(const NewConversation& in, Timestamp now) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Conversation>([&]() -> Result<Conversation> {
    CHAT_ASSIGN_OR_RETURN(Conversation c, prepare(in, now));
    return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
      insert(w, c);
      return c;
    });
  });
}

Result<Conversation> Conversations::get(std::int64_t id, bool include_deleted) {
  return db_.read<Conversation>([&](Conn& r) { return load_conversation(r, id, include_deleted); },
                                Snapshot::kStatement);
}

Result<Conversation> Conversations::find_by_uuid(std::string_view uuid, bool include_deleted) {
  return db_.read<Conversation>([&](Conn& r) -> Result<Conversation> {
    auto s = r.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.uuid = ?");
    s->bind(1, std::string(uuid));
    if (!s->executeStep()) return Error::not_found("conversation not found");
    return visible(*s, include_deleted);
  }, Snapshot::kStatement);
}

Result<Conversation> Conversations::find_by_handle(std::string_view handle, bool include_deleted) {
  if (handle.empty()) return Error::not_found("conversation not found");
  return db_.read<Conversation>([&](Conn& r) -> Result<Conversation> {
    auto s = r.prepare_static("SELECT " CHAT_CONV_COLS " FROM conversations c WHERE c.handle = ?");
    s->bind(1, std::string(handle));
    if (!s->executeStep()) return Error::not_found("conversation not found");
    return visible(*s, include_deleted);
  }, Snapshot::kStatement);
}

Result<Page<Conversation>> Conversations::list(const ConversationQuery& q) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Page<Conversation>>([&]() -> Result<Page<Conversation>> {
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    CHAT_RETURN_IF_ERROR(check_filter_text("search", q.search));
    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    auto& params = page.params;
    std::string where = " WHERE 1=1";
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
      // Case-insensitive by chat::fold_case (Unicode), the needle literal.
      where += " AND (" + contains_folded_sql("c.handle") + " OR " + contains_folded_sql("c.external_user_id") +
               " OR " + contains_folded_sql("c.title") + ")";
      auto needle = fold_case(q.search);
      params.emplace_back(needle);
      params.emplace_back(needle);
      params.emplace_back(std::move(needle));
    }
    if (q.since_id > 0) {
      where += " AND c.id > ?";
      params.emplace_back(q.since_id);
    }
    const char* order = q.order == ConversationOrder::kNewestFirst
                            ? " ORDER BY c.created_at DESC, c.id DESC"
                            : " ORDER BY c.is_pinned DESC, COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC";
    page.count_sql = "SELECT COUNT(*) FROM conversations c" + where;
    page.rows_sql = fmt::format("SELECT {} FROM conversations c{}{} LIMIT ? OFFSET ?", kConvCols, where, order);
    return db_.read<Page<Conversation>>([&](Conn& r) -> Result<Page<Conversation>> {
      return fetch_page<Conversation>(r, page, [](Stmt& s, std::optional<std::int64_t>&, PageBytes& bytes) {
        std::vector<Conversation> items;
        while (s->executeStep()) {
          Conversation c = read_conversation(*s);
          if (!bytes.admit(stored_bytes(c))) break;
          items.push_back(std::move(c));
        }
        s->tryReset();
        return items;
      });
    });
  });
}

Result<Conversation> Conversations::update(std::int64_t id, const ConversationPatch& p, Timestamp now) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Conversation>([&]() -> Result<Conversation> {
    std::optional<std::string> meta;
    if (p.metadata) {
      CHAT_ASSIGN_OR_RETURN(meta, detail::normalize_json_object(*p.metadata, "metadata", kMaxMetadataBytes));
    }
    return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
      auto cur = load_conversation(w, id, false);
      if (!cur) return cur;
      auto s = w.prepare_static(
          "UPDATE conversations SET title = COALESCE(?, title), status = COALESCE(?, status), "
          "is_archived = COALESCE(?, is_archived), is_pinned = COALESCE(?, is_pinned), "
          "is_active = COALESCE(?, is_active), metadata = COALESCE(?, metadata), "
          "initial_context = COALESCE(?, initial_context), agent_id = COALESCE(?, agent_id), "
          "expires_at = COALESCE(?, expires_at), updated_at = ? WHERE id = ?");
      bind_opt(*s, 1, p.title);
      bind_opt(*s, 2, p.status);
      bind_opt(*s, 3, p.is_archived);
      bind_opt(*s, 4, p.is_pinned);
      bind_opt(*s, 5, p.is_active);
      bind_opt(*s, 6, meta);
      bind_opt(*s, 7, p.initial_context);
      bind_opt(*s, 8, p.agent_id);
      bind_opt(*s, 9, p.expires_at);
      s->bind(10, to_millis(now));
      s->bind(11, id);
      s->exec();
      CHAT_ASSIGN_OR_RETURN(Conversation updated, load_conversation(w, id, false));
      write_conversation_event(w, EventType::kConversationUpdated, updated, now);
      return updated;
    });
  });
}

Status Conversations::soft_delete(std::int64_t id, const AuditContext& audit) {
  return db_.write<void>([&](Conn& w) -> Status {
    auto s = w.prepare_static("UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL");
    s->bind(1, to_millis(audit.at));
    s->bind(2, id);
    if (s->exec() == 0) return Error::not_found("conversation not found");
    write_audit(w, audit, "conversation.delete", "conversation", id, id, "{}");
    CHAT_ASSIGN_OR_RETURN(const Conversation deleted, load_conversation(w, id, true));
    write_conversation_event(w, EventType::kConversationDeleted, deleted, audit.at);
    return {};
  });
}

Result<Conversation> Conversations::restore(std::int64_t id, const AuditContext& audit) {
  return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
    auto s = w.prepare_static("UPDATE conversations SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL");
    s->bind(1, id);
    if (s->exec() == 0) return Error::not_found("no deleted conversation with this id");
    write_audit(w, audit, "conversation.restore", "conversation", id, id, "{}");
    CHAT_ASSIGN_OR_RETURN(Conversation restored, load_conversation(w, id, false));
    write_conversation_event(w, EventType::kConversationRestored, restored, audit.at);
    return restored;
  });
}

Result<std::int64_t> Conversations::clear(std::int64_t id, const AuditContext& audit) {
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    CHAT_RETURN_IF_ERROR(load_conversation(w, id, false));
    std::int64_t n = 0;
    {
      auto s = w.prepare_static("UPDATE messages SET deleted_at = ? WHERE conversation_id = ? AND deleted_at IS NULL");
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
    // One event, whatever the count: a listener reloads (or empties) the
    // conversation instead of reading n message.deleted events.
    CHAT_ASSIGN_OR_RETURN(const Conversation cleared, load_conversation(w, id, false));
    write_conversation_event(w, EventType::kConversationCleared, cleared, audit.at);
    return n;
  });
}

// mark_read sets status `read` on messages between the previous mark and the
// new one; those at or below the previous mark were set when it moved.
Result<Conversation> Conversations::mark_read(std::int64_t conversation_id, std::int64_t up_to, Timestamp now) {
  return db_.write<Conversation>([&](Conn& w) -> Result<Conversation> {
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
    CHAT_ASSIGN_OR_RETURN(Conversation read, load_conversation(w, conversation_id, false));
    // Statuses move only with the mark: a mark that stayed is no change.
    if (mark > old_mark) write_conversation_event(w, EventType::kConversationRead, read, now);
    return read;
  });
}

}  // namespace chat::sqlite
