// The typing event as it travels between chatd instances through
// Store::publish_ephemeral (issue 13). Private to libchat.
//
// Compact text, because a PostgreSQL NOTIFY payload is short (under 8000
// bytes) and one is sent per keystroke burst:
//   "t1;<active 0|1>;<role u|a>;<at, ms since the epoch>;<user_id>"
// The user id comes last and is taken verbatim (it may hold ';'). The
// conversation travels beside the payload (ExternalChange::conversation_id).
// decode refuses anything else (another version, a damaged notice): the
// receiver drops it, since typing is best effort.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chat/events.hpp"

namespace chat::detail {

// `e` must be a typing event (EventType::kTyping with `typing` set).
std::string encode_typing_notice(const Event& e);
// The typing event of `conversation_id` that `payload` describes (id 0:
// ephemeral); nullopt when `payload` is not a typing notice of this version.
std::optional<Event> decode_typing_notice(std::int64_t conversation_id, std::string_view payload);

}  // namespace chat::detail
