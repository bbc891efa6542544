// UTF-8 repair shared by the service, the store and the token counters. Private to libchat.
//
// Text must be valid UTF-8 everywhere: rows are rendered as JSON later, and a
// JSON encoder must never meet bytes it cannot encode. The check itself is
// public (chat/text.hpp); it is named here too for the library's own code.
#pragma once

#include <string>
#include <string_view>

#include "chat/text.hpp"

namespace chat::detail {

using chat::is_valid_utf8;

// `text` with every byte sequence that is not UTF-8 replaced by U+FFFD
// (what a model server sends is not checked by anyone before us).
std::string sanitize_utf8(std::string_view text);

}  // namespace chat::detail
