// The change log (chat/events.hpp) on SQLite: the `events` table, written
// inside the write transaction of every change it records, and read by
// conversation after a cursor. Private.
//
// Costs: an event is one INSERT through a cached statement, of a snapshot
// serialized from the row the change already has in hand (no extra read on
// the append path). A read is one range scan of events(conversation_id, id)
// joined to the message row by primary key, then each event's row as it is
// now (one lookup by primary key per message, one conversation per page):
// what a reader sees is decided by the rows, so nothing in the log is
// rewritten when a message is edited, deleted or restored. The snapshot is
// read only for rows a purge removed.
#pragma once

#include <cstdint>

#include "chat/events.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/sqlite/database.hpp"

namespace chat::sqlite {

// Append one event in the caller's write transaction, so that the event and
// the change commit together or not at all. A message.deleted event is
// stored redacted.
void write_message_event(Conn& w, EventType type, const Message& m, Timestamp at);
void write_conversation_event(Conn& w, EventType type, const Conversation& c, Timestamp at);

// For purge, in its transaction and before it deletes the rows: removes
// every event of the conversations deleted before `cutoff_ms`, and the events
// but message.deleted of the messages listed in temp.purge_ids.
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

}  // namespace chat::sqlite
