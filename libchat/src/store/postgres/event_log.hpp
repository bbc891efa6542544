// The change log (chat/events.hpp) on PostgreSQL: the `events` table,
// written inside the write transaction of every change it records, and the
// cross-instance change notice that rides with it. Same semantics as the
// SQLite store's event_log.hpp (rows as read, trim floor, redacted deletes);
// the snapshot text is store/event_snapshot.hpp's. Private.
//
// Ids: drawn from events_id_seq, only after the conversation's row is locked
// by the caller (database.hpp, "Cursors"), so a conversation's events become
// visible in id order.
#pragma once

#include <cstdint>

#include "chat/events.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

// Appends one event in the caller's write transaction and queues the
// transaction's change notice for its conversation (pg_notify on
// 'chat_change', delivered by the server on commit only). A message.deleted
// event is stored redacted. The caller holds the conversation's row lock.
void write_message_event(Conn& w, EventType type, const Message& m, Timestamp at);
void write_conversation_event(Conn& w, EventType type, const Conversation& c, Timestamp at);

// For purge, in its transaction and before it deletes the rows: removes
// every event of the conversations deleted before `cutoff_ms`, and the events
// but message.deleted of the messages in purge_ids (a temporary table).
void purge_events(Conn& w, std::int64_t cutoff_ms);

class EventLog {
 public:
  explicit EventLog(Database& db) : db_(db) {}

  // Store::list_events, last_event_id, trim_events.
  Result<EventPage> list(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                         ByteBudget budget = {});
  Result<std::int64_t> last_id();
  Result<std::int64_t> trim(Timestamp before, std::int64_t max_rows);

 private:
  Database& db_;
};

}  // namespace chat::pg
