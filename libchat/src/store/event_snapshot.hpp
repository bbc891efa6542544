// The snapshot an event of the change log keeps (chat/events.hpp): the
// message or conversation as the change left it, as compact JSON text that
// only libchat writes and reads. Shared by every Store implementation, so
// that a second store (PostgreSQL) keeps the same text. Private.
//
// Format: one JSON object per row, keys named as the fields of
// chat::Message / chat::Conversation, times as integer milliseconds since the
// epoch, enums by their lower-case names (to_string), metadata as a JSON
// string holding the stored metadata text (exact round trip). Absent
// optionals (tokens_used, deleted_at, agent_id, ...) and an empty attachment
// list are left out. Example:
//   {"id":7,"uuid":"...","conversation_id":3,"client_id":"","role":"user",
//    "content":"hi","content_type":"text","message_type":"text","status":"sent",
//    "metadata":"{}","created_at":1719655200000,"updated_at":1719655200000}
// A redacted message keeps only id, uuid, conversation_id, client_id, role,
// created_at, updated_at and deleted_at.
//
// Text that is not UTF-8 is written with U+FFFD in place of the bad bytes
// (JSON must stay parseable); the service never stores such text.
#pragma once

#include <string>
#include <string_view>

#include "chat/result.hpp"
#include "chat/types.hpp"

namespace chat::detail {

std::string message_snapshot(const Message& m, bool redacted = false);
std::string conversation_snapshot(const Conversation& c);

// kInternal when the text is not a snapshot (a corrupted row).
Result<Message> parse_message_snapshot(std::string_view text);
Result<Conversation> parse_conversation_snapshot(std::string_view text);

// `m` cut down to its identity fields (the rest at their defaults).
Message redacted_message(const Message& m);

}  // namespace chat::detail
