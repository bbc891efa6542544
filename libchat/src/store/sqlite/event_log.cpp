#include "store/sqlite/event_log.hpp"

#include <string>
#include <utility>

#include "store/event_snapshot.hpp"
#include "store/sqlite/conversations.hpp"
#include "store/sqlite/messages.hpp"
#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

namespace {

constexpr std::int64_t kMaxEventPage = 1000;

void insert_event(Conn& w, EventType type, std::int64_t conversation_id, std::int64_t message_id, Timestamp at,
                  const std::string& data) {
  auto s = w.prepare_static("INSERT INTO events (conversation_id, type, message_id, at, data) VALUES (?,?,?,?,?)");
  s->bind(1, conversation_id);
  // The names are string literals (events.cpp): nothing to copy.
  s->bindNoCopy(2, event_type_name(type).data());
  if (message_id > 0) {
    s->bind(3, message_id);
  } else {
    s->bind(3);
  }
  s->bind(4, to_millis(at));
  s->bindNoCopy(5, data);
  s->exec();
}

bool is_message_event(EventType t) {
  return t == EventType::kMessageCreated || t == EventType::kMessageUpdated || t == EventType::kMessageDeleted ||
         t == EventType::kMessageRestored;
}

// The newest id ever assigned (AUTOINCREMENT's sequence), 0 when none.
std::int64_t newest_event_id(Conn& c) {
  auto s = c.prepare_static("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  return s->executeStep() ? s->getColumn(0).getInt64() : 0;
}

std::int64_t trim_floor(Conn& c) {
  auto s = c.prepare_static("SELECT trim_floor FROM event_log_state WHERE id = 1");
  return s->executeStep() ? s->getColumn(0).getInt64() : 0;
}

}  // namespace

void write_message_event(Conn& w, EventType type, const Message& m, Timestamp at) {
  insert_event(w, type, m.conversation_id, m.id, at,
               detail::message_snapshot(m, /*redacted=*/type == EventType::kMessageDeleted));
}

void write_conversation_event(Conn& w, EventType type, const Conversation& c, Timestamp at) {
  insert_event(w, type, c.id, 0, at, detail::conversation_snapshot(c));
}

void purge_events(Conn& w, std::int64_t cutoff_ms) {
  {
    auto s = w.prepare_static(
        "DELETE FROM events WHERE conversation_id IN (SELECT id FROM conversations WHERE deleted_at < ?)");
    s->bind(1, cutoff_ms);
    s->exec();
  }
  // Through the conversations of the doomed messages: events(conversation_id,
  // id) is the only index, and an index on message_id would cost every append.
  auto s = w.prepare_static(
      "DELETE FROM events WHERE conversation_id IN (SELECT DISTINCT conversation_id FROM messages "
      "WHERE id IN (SELECT id FROM temp.purge_ids)) AND message_id IN (SELECT id FROM temp.purge_ids) "
      "AND type != 'message.deleted'");
  s->exec();
}

Result<EventPage> EventLog::list(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                 ByteBudget budget) {
  if (after_id < 0) return Error::invalid("after_id", "after_id must not be negative");
  if (limit < 1 || limit > kMaxEventPage) return Error::invalid("limit", "limit must be between 1 and 1000");
  return db_.read<EventPage>([&](Conn& r) -> Result<EventPage> {
    EventPage page;
    page.last_id = newest_event_id(r);
    if (after_id > page.last_id || after_id < trim_floor(r)) {
      page.reset = true;
      return page;
    }
    // `gone`: the event's message is deleted now, by itself, by a clear, with
    // its conversation, or purged.
    auto s = r.prepare_static(
        "SELECT e.id, e.type, e.at, e.data, e.message_id IS NOT NULL AND (m.id IS NULL OR m.deleted_at IS NOT NULL "
        "OR c.deleted_at IS NOT NULL), e.message_id FROM events e LEFT JOIN messages m ON m.id = e.message_id "
        "LEFT JOIN conversations c ON c.id = e.conversation_id "
        "WHERE e.conversation_id = ? AND e.id > ? ORDER BY e.id LIMIT ?");
    s->bind(1, conversation_id);
    s->bind(2, after_id);
    s->bind(3, limit + 1);
    // The rows as they are now: the conversation once per page, each message
    // once (its created and updated events share it).
    std::optional<Conversation> conversation_now;
    bool conversation_loaded = false;
    std::optional<Message> message_now;
    std::size_t bytes = 0;
    while (s->executeStep()) {
      if (static_cast<std::int64_t>(page.events.size()) == limit ||
          (budget.max_bytes > 0 && !page.events.empty() && bytes >= budget.max_bytes)) {
        page.has_more = true;
        break;
      }
      Event e;
      e.id = s->getColumn(0).getInt64();
      e.conversation_id = conversation_id;
      auto type = parse_event_type(s->getColumn(1).getString());
      if (!type) return Error::internal("a change log event has an unknown type");
      e.type = *type;
      e.at = from_millis(s->getColumn(2).getInt64());
      const auto* data = static_cast<const char*>(s->getColumn(3).getBlob());
      const std::string_view text(data != nullptr ? data : "", static_cast<std::size_t>(s->getColumn(3).getBytes()));
      if (is_message_event(e.type)) {
        e.redacted = e.type == EventType::kMessageDeleted || s->getColumn(4).getInt() != 0;
        const std::int64_t message_id = s->getColumn(5).getInt64();
        if (e.redacted) {
          // The identity from the snapshot: the row may be gone (purged).
          CHAT_ASSIGN_OR_RETURN(Message m, detail::parse_message_snapshot(text));
          e.message = detail::redacted_message(m);
        } else {
          if (!message_now || message_now->id != message_id) {
            // Live by the join above, in this read's snapshot.
            CHAT_ASSIGN_OR_RETURN(Message m, load_message(r, message_id, /*include_deleted=*/false));
            message_now = std::move(m);
          }
          e.message = *message_now;
          bytes += stored_bytes(*e.message);
        }
      } else {
        if (!conversation_loaded) {
          conversation_loaded = true;
          auto c = load_conversation(r, conversation_id, /*include_deleted=*/true);
          if (c) {
            conversation_now = std::move(*c);
          } else if (c.error().code != ErrorCode::kNotFound) {
            return std::move(c).error();
          }
        }
        if (conversation_now) {
          e.conversation = *conversation_now;
        } else {
          CHAT_ASSIGN_OR_RETURN(Conversation c, detail::parse_conversation_snapshot(text));
          e.conversation = std::move(c);
        }
        bytes += stored_bytes(*e.conversation);
      }
      page.events.push_back(std::move(e));
    }
    return page;
  });
}

Result<std::int64_t> EventLog::last_id() {
  return db_.read<std::int64_t>([&](Conn& r) -> Result<std::int64_t> { return newest_event_id(r); },
                                Snapshot::kStatement);
}

// Removes a prefix of the log in id order: it stops at the first event made
// at or after `before`, so the floor (the largest id removed) says exactly
// which cursors may have lost events.
Result<std::int64_t> EventLog::trim(Timestamp before, std::int64_t max_rows) {
  if (max_rows < 1) return Error::invalid("max_rows", "max_rows must be at least 1");
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    std::int64_t upto = 0;
    {
      auto s = w.prepare_static("SELECT id, at FROM events ORDER BY id LIMIT ?");
      s->bind(1, max_rows);
      const std::int64_t cutoff = to_millis(before);
      while (s->executeStep()) {
        if (s->getColumn(1).getInt64() >= cutoff) break;
        upto = s->getColumn(0).getInt64();
      }
    }
    if (upto == 0) return std::int64_t{0};
    std::int64_t removed = 0;
    {
      auto s = w.prepare_static("DELETE FROM events WHERE id <= ?");
      s->bind(1, upto);
      removed = s->exec();
    }
    auto s = w.prepare_static("UPDATE event_log_state SET trim_floor = MAX(trim_floor, ?) WHERE id = 1");
    s->bind(1, upto);
    s->exec();
    return removed;
  });
}

}  // namespace chat::sqlite
