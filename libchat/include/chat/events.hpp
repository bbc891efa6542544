// chat/events.hpp: the change log of conversations, and event streams over it
// (issue 14: live updates without polling).
//
// The change log. Every change a Store commits to a conversation or to one of
// its messages appends an Event to a durable, ordered log in the SAME
// transaction (chat/store.hpp lists which method writes which type), so the
// log and the rows never disagree, even after a crash. Event ids are positive,
// strictly increasing in commit order across the whole store and never
// reused: a reader that has seen event n and reads "after n" misses nothing
// that committed before its read and sees nothing twice. The log is what event
// streams replay (SSE `Last-Event-ID`), and what a second store (PostgreSQL)
// or webhooks read the same way.
//
// What an event holds. `message` / `conversation` is the row as it is when
// the event is read: a replay has the live sequence's ids, types and order,
// and every event shows its row's current state, so a client that applies
// them in order ends where a live listener ended. Text an edit replaced is
// never served again (seed 000: earlier versions are for admins only; an
// edit often removes something on purpose), and by the soft-delete rule (a
// deleted row shows in no event) an event whose message is deleted now (by a
// delete, a clear, or its conversation being deleted; a restored row shows
// again) is read back `redacted`, as is every message.deleted event: only
// the identity fields (id, uuid, conversation_id, client_id, role,
// created_at, updated_at, deleted_at), never content, metadata or
// attachments. The store also keeps a snapshot of the row with each event,
// for rows gone for good (purged): their events read back from it, redacted.
//
// Retention. The log keeps events for ServiceOptions::event_retention (7 days
// by default); older ones are trimmed. A reader whose cursor is older than the
// oldest event kept (or newer than the newest: a cursor from another
// database) gets EventPage::reset and must reload the conversation's state.
//
// Ephemeral events. "typing" is never stored and has id 0: it reaches only
// the streams open when it is sent (ChatService::send_typing).
//
// Seed words: seed 002 asks to "avoid polling"; the seeds' own pushes are the
// seed 001 reply stream (chat/reply.hpp), which stays as it is. Event type
// names are those of the SSE `event:` field chatd sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/time.hpp"
#include "chat/types.hpp"

namespace chat {

enum class EventType {
  kMessageCreated,        // "message.created": a new message (posts, replies, seed 001/002/003/004 alike)
  kMessageUpdated,        // "message.updated": an edit, a status change, a seed 000 streaming PATCH
  kMessageDeleted,        // "message.deleted": always redacted
  kMessageRestored,       // "message.restored"
  kConversationCreated,   // "conversation.created"
  kConversationUpdated,   // "conversation.updated": title, status, flags, metadata, expiry
  kConversationDeleted,   // "conversation.deleted"; a stream ends after it
  kConversationRestored,  // "conversation.restored"
  kConversationCleared,   // "conversation.cleared": every message deleted at once (seed 000 clear)
  kConversationRead,      // "conversation.read": the read mark moved (unread_count, last_read_message_id)
  kTyping,                // "typing": ephemeral, never stored
};

// "message.created", ..., "typing".
std::string_view event_type_name(EventType type) noexcept;
// The inverse; nullopt for an unknown name.
std::optional<EventType> parse_event_type(std::string_view name) noexcept;

// Who is typing (EventType::kTyping).
struct Typing {
  std::string user_id;  // the sender's user id; empty for an anonymous sender (a seed 001/002 customer)
  Role role = Role::kUser;  // kUser for customers and owners, kAgent for human agents
  bool active = true;       // false: stopped typing
};

struct Event {
  std::int64_t id = 0;  // position in the change log; 0 for an ephemeral event
  std::int64_t conversation_id = 0;
  EventType type = EventType::kMessageCreated;
  Timestamp at{};  // when the change was made (the service's clock, UTC ms)
  // message.*: the message as the change left it (redacted: identity only).
  std::optional<Message> message;
  // conversation.*: the conversation as the change left it, counters included.
  std::optional<Conversation> conversation;
  // The snapshot was cut down to identity fields (see the header comment).
  bool redacted = false;
  std::optional<Typing> typing;  // kTyping only
};

// One read of the log.
struct EventPage {
  std::vector<Event> events;  // id > the cursor, oldest first, at most the limit asked
  bool has_more = false;      // more events after the last one returned
  // The cursor is older than the oldest event kept, or newer than the newest
  // event of the store: `events` is empty and the reader must reload.
  bool reset = false;
  std::int64_t last_id = 0;  // the newest event id of the whole store when read (0: none yet)
};

}  // namespace chat
