// What every Store makes of a NewConversation or NewMessage before it writes
// the row: the checks and defaults of chat/store.hpp that do not depend on
// the database (metadata a JSON object of at most kMaxMetadataBytes, a uuid
// that is a UUID, counts not negative, a token count naming its counter;
// "text" and "active" defaults; both timestamps `now`). Ids, counters and
// uniqueness are each store's. Private to libchat.
//
// Errors: kInvalidArgument naming the field ("metadata", "uuid",
// "tokens_used", "content_tokens").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "chat/result.hpp"
#include "chat/time.hpp"
#include "chat/types.hpp"

namespace chat::detail {

inline constexpr std::size_t kMaxMetadataBytes = 64 * 1024;

// Metadata as stored: compact JSON object text. The common "{}" skips the
// JSON parser (it is on the append path). kInvalidArgument names "metadata".
Result<std::string> normalize_metadata(const std::string& text);

// A cached token count (schema step 6): not negative, with its counter's id.
Status check_token_count(const std::optional<TokenCount>& t);

// The conversation row of `in` (id 0, counters 0).
Result<Conversation> new_conversation_row(const NewConversation& in, Timestamp now);

// The message row of `m` in `conversation_id` (id 0; a uuid generated when
// `m.uuid` is empty).
Result<Message> new_message_row(std::int64_t conversation_id, const NewMessage& m, Timestamp now);

}  // namespace chat::detail
