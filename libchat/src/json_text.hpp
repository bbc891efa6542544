// Validation of the JSON text that crosses the public API (metadata, profile
// sections). Private to libchat.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace chat::detail {

// Parses `text` as a JSON object of at most `max_bytes` bytes and returns its
// compact form. An empty text counts as "{}". Errors name `field`.
Result<std::string> normalize_json_object(std::string_view text, std::string_view field, std::size_t max_bytes);

// The same for a JSON array ("[]" when empty).
Result<std::string> normalize_json_array(std::string_view text, std::string_view field, std::size_t max_bytes);

}  // namespace chat::detail
