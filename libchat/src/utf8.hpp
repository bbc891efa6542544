// UTF-8 checks shared by the service, the store and the token counters. Private to libchat.
//
// Text must be valid UTF-8 everywhere: rows are rendered as JSON later, and a
// JSON encoder must never meet bytes it cannot encode.
#pragma once

#include <string>
#include <string_view>

namespace chat::detail {

// Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

// `text` with every byte sequence that is not UTF-8 replaced by U+FFFD
// (what a model server sends is not checked by anyone before us).
std::string sanitize_utf8(std::string_view text);

}  // namespace chat::detail
