#include "store/postgres/event_log.hpp"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "store/event_snapshot.hpp"
#include "store/postgres/conversations.hpp"
#include "store/postgres/messages.hpp"
#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

constexpr std::int64_t kMaxEventPage = 1000;

void insert_event(Conn& w, EventType type, std::int64_t conversation_id, std::int64_t message_id, Timestamp at,
                  const std::string& data) {
  Params p;
  p.add(conversation_id).add(event_type_name(type));
  if (message_id > 0) {
    p.add(message_id);
  } else {
    p.null();
  }
  p.add(at).add(data).add(fmt::format("{} {}", w.instance(), conversation_id));
  w.exec(
      "WITH e AS (INSERT INTO events (conversation_id, type, message_id, at, data) VALUES ($1,$2,$3,$4,$5) "
      "RETURNING id) SELECT pg_notify('chat_change', $6) FROM e",
      p);
}

bool is_message_event(EventType t) {
  return t == EventType::kMessageCreated || t == EventType::kMessageUpdated || t == EventType::kMessageDeleted ||
         t == EventType::kMessageRestored;
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
  // The largest id removed is kept (id_marks): the head never moves back.
  w.exec(
      "WITH d AS (DELETE FROM events WHERE conversation_id IN (SELECT id FROM conversations WHERE deleted_at < $1) "
      "RETURNING id) UPDATE id_marks SET purged_event_id = GREATEST(purged_event_id, "
      "COALESCE((SELECT MAX(id) FROM d), 0)) WHERE id = 1",
      Params().add(cutoff_ms));
  w.exec(
      "WITH d AS (DELETE FROM events WHERE conversation_id IN (SELECT DISTINCT conversation_id FROM messages "
      "WHERE id IN (SELECT id FROM purge_ids)) AND message_id IN (SELECT id FROM purge_ids) "
      "AND type <> 'message.deleted' RETURNING id) UPDATE id_marks SET purged_event_id = "
      "GREATEST(purged_event_id, COALESCE((SELECT MAX(id) FROM d), 0)) WHERE id = 1");
}

Result<EventPage> EventLog::list(std::int64_t conversation_id, std::int64_t after_id, std::int64_t limit,
                                 ByteBudget budget) {
  if (after_id < 0) return Error::invalid("after_id", "after_id must not be negative");
  if (limit < 1 || limit > kMaxEventPage) return Error::invalid("limit", "limit must be between 1 and 1000");
  return db_.read<EventPage>([&](Conn& r) -> Result<EventPage> {
    EventPage page;
    {
      page.last_id = r.exec(kEventHeadSql).i64(0, 0);
      const std::int64_t floor = r.exec("SELECT trim_floor FROM event_log_state WHERE id = 1").i64(0, 0);
      if (after_id > page.last_id || after_id < floor) {
        page.reset = true;
        return page;
      }
    }
    // `gone`: the event's message is deleted now, by itself, by a clear, with
    // its conversation, or purged. Read by chunks of a cursor: a page ends at
    // its byte budget without reading further rows.
    r.exec_unprepared(
        "DECLARE chat_events NO SCROLL CURSOR FOR "
        "SELECT e.id, e.type, e.at, e.data, e.message_id IS NOT NULL AND (m.id IS NULL OR m.deleted_at IS NOT NULL "
        "OR c.deleted_at IS NOT NULL), e.message_id FROM events e LEFT JOIN messages m ON m.id = e.message_id "
        "LEFT JOIN conversations c ON c.id = e.conversation_id "
        "WHERE e.conversation_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3",
        Params().add(conversation_id).add(after_id).add(limit + 1));
    std::optional<Conversation> conversation_now;
    bool conversation_loaded = false;
    std::optional<Message> message_now;
    std::size_t bytes = 0;
    bool done = false;
    while (!done) {
      const Rows s = r.exec_unprepared("FETCH 32 FROM chat_events", {});
      if (s.size() < 32) done = true;
      for (int i = 0; i < s.size(); ++i) {
        if (static_cast<std::int64_t>(page.events.size()) == limit ||
            (budget.max_bytes > 0 && !page.events.empty() && bytes >= budget.max_bytes)) {
          page.has_more = true;
          done = true;
          break;
        }
        Event e;
        e.id = s.i64(i, 0);
        e.conversation_id = conversation_id;
        auto type = parse_event_type(s.view(i, 1));
        if (!type) return Error::internal("a change log event has an unknown type");
        e.type = *type;
        e.at = s.time(i, 2);
        const std::string_view text = s.view(i, 3);
        if (is_message_event(e.type)) {
          e.redacted = e.type == EventType::kMessageDeleted || s.flag(i, 4);
          const std::int64_t message_id = s.i64(i, 5);
          if (e.redacted) {
            CHAT_ASSIGN_OR_RETURN(Message m, detail::parse_message_snapshot(text));
            e.message = detail::redacted_message(m);
          } else {
            if (!message_now || message_now->id != message_id) {
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
    }
    r.run("CLOSE chat_events");
    return page;
  });
}

Result<std::int64_t> EventLog::last_id() { return db_.head_id(kEventHeadSql); }

// Removes a prefix of the log in id order: it stops at the first event made
// at or after `before`. Events are few per conversation lock, so the trim
// takes the prefix as committed now; an event of a transaction still running
// has a larger id than any committed one of its conversation.
Result<std::int64_t> EventLog::trim(Timestamp before, std::int64_t max_rows) {
  if (max_rows < 1) return Error::invalid("max_rows", "max_rows must be at least 1");
  return db_.write<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    // One trimmer at a time: the floor only moves up.
    const Rows state = w.exec("SELECT trim_floor FROM event_log_state WHERE id = 1 FOR UPDATE");
    (void)state;
    std::int64_t upto = 0;
    {
      const Rows s = w.exec("SELECT id, at FROM events ORDER BY id LIMIT $1", Params().add(max_rows));
      const std::int64_t cutoff = to_millis(before);
      for (int i = 0; i < s.size(); ++i) {
        if (s.i64(i, 1) >= cutoff) break;
        upto = s.i64(i, 0);
      }
    }
    if (upto == 0) return std::int64_t{0};
    const std::int64_t removed = w.exec("DELETE FROM events WHERE id <= $1", Params().add(upto)).affected();
    w.exec("UPDATE event_log_state SET trim_floor = GREATEST(trim_floor, $1) WHERE id = 1", Params().add(upto));
    return removed;
  });
}

}  // namespace chat::pg
