#include "store/sqlite/audit.hpp"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite/event_log.hpp"
#include "store/sqlite/paging.hpp"
#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

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

std::string audit_detail_count(const char* key, std::int64_t n) { return fmt::format("{{\"{}\":{}}}", key, n); }

Result<std::vector<AuditEntry>> AuditTrail::list(const AuditQuery& q) {
  CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
  return db_.read<std::vector<AuditEntry>>([&](Conn& r) -> Result<std::vector<AuditEntry>> {
    const char* sql = q.conversation_id ? "SELECT " CHAT_AUDIT_COLS " FROM audit_log WHERE conversation_id = ? "
                                          "ORDER BY id DESC LIMIT ? OFFSET ?"
                                        : "SELECT " CHAT_AUDIT_COLS " FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?";
    auto s = r.prepare_static(sql);
    int i = 1;
    if (q.conversation_id) s->bind(i++, *q.conversation_id);
    s->bind(i++, q.limit);
    s->bind(i++, q.offset);
    std::vector<AuditEntry> out;
    while (s->executeStep()) out.push_back(read_audit_entry(*s));
    return out;
  });
}

Result<std::int64_t> AuditTrail::purge(Timestamp deleted_before, const AuditContext& audit) {
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
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
    w.run("DELETE FROM message_versions WHERE message_id IN (SELECT id FROM temp.purge_ids)");
    purge_events(w, cutoff);
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
                fmt::format("{{\"messages\":{},\"conversations\":{},\"deleted_before\":{}}}", messages, conversations,
                            cutoff));
    return messages + conversations;
  });
}

}  // namespace chat::sqlite
