#include "store/postgres/audit.hpp"

#include <fmt/format.h>

#include <utility>

#include "store/postgres/event_log.hpp"
#include "store/postgres/rows.hpp"

namespace chat::pg {

void write_audit(Conn& w, const AuditContext& audit, const char* action, const char* target_type,
                 std::int64_t target_id, std::int64_t conversation_id, const std::string& detail) {
  w.exec(
      "INSERT INTO audit_log (at, actor, action, target_type, target_id, conversation_id, detail) "
      "VALUES ($1,$2,$3,$4,$5,$6,$7)",
      Params().add(audit.at).add(audit.actor).add(action).add(target_type).add(target_id).add(conversation_id).add(
          detail));
}

std::string audit_detail_count(const char* key, std::int64_t n) { return fmt::format("{{\"{}\":{}}}", key, n); }

Result<std::vector<AuditEntry>> AuditTrail::list(const AuditQuery& q) {
  CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
  return db_.read<std::vector<AuditEntry>>(
      [&](Conn& c) -> Result<std::vector<AuditEntry>> {
        const Rows r =
            q.conversation_id
                ? c.exec("SELECT " CHAT_PG_AUDIT_COLS " FROM audit_log WHERE conversation_id = $1 "
                         "ORDER BY id DESC LIMIT $2 OFFSET $3",
                         Params().add(*q.conversation_id).add(q.limit).add(q.offset))
                : c.exec("SELECT " CHAT_PG_AUDIT_COLS " FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
                         Params().add(q.limit).add(q.offset));
        std::vector<AuditEntry> out;
        for (int i = 0; i < r.size(); ++i) out.push_back(read_audit_entry(r, i));
        return out;
      },
      false);
}

// Purge first locks every conversation it touches (in id order, so two
// purges never deadlock): a restore of one of its rows either commits before
// (and the row is no longer doomed when purge collects) or waits for it.
Result<std::int64_t> AuditTrail::purge(Timestamp deleted_before, const AuditContext& audit) {
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    const std::int64_t cutoff = to_millis(deleted_before);
    // Doomed messages: deleted before the cutoff, or in a conversation that
    // is. Collected once so that every table is cleaned by the same set.
    w.exec(
        "SELECT id FROM conversations WHERE deleted_at < $1 OR id IN "
        "(SELECT conversation_id FROM messages WHERE deleted_at < $1) ORDER BY id FOR UPDATE",
        Params().add(cutoff));
    w.run("CREATE TEMP TABLE IF NOT EXISTS purge_ids (id BIGINT PRIMARY KEY) ON COMMIT DELETE ROWS");
    w.run("DELETE FROM purge_ids");
    w.exec(
        "INSERT INTO purge_ids (id) SELECT m.id FROM messages m JOIN conversations c "
        "ON c.id = m.conversation_id WHERE m.deleted_at < $1 OR c.deleted_at < $1",
        Params().add(cutoff));
    w.run("UPDATE id_marks SET purged_message_id = GREATEST(purged_message_id, "
          "COALESCE((SELECT MAX(id) FROM purge_ids), 0)) WHERE id = 1");
    w.run("DELETE FROM message_attachments WHERE message_id IN (SELECT id FROM purge_ids)");
    w.run("DELETE FROM message_versions WHERE message_id IN (SELECT id FROM purge_ids)");
    purge_events(w, cutoff);
    const std::int64_t messages =
        w.exec("DELETE FROM messages WHERE id IN (SELECT id FROM purge_ids)").affected();
    const std::int64_t conversations =
        w.exec("DELETE FROM conversations WHERE deleted_at < $1", Params().add(cutoff)).affected();
    write_audit(w, audit, "purge", "store", 0, 0,
                fmt::format("{{\"messages\":{},\"conversations\":{},\"deleted_before\":{}}}", messages, conversations,
                            cutoff));
    return messages + conversations;
  });
}

}  // namespace chat::pg
