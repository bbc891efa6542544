// Input checks shared by the ChatService operations. Private to libchat.
//
// Every check returns an invalid_argument Error that names the offending
// field (the C++ field name, e.g. "content", "client_id"); HTTP layers map it
// to their own wire names. Text must be valid UTF-8 everywhere: rows are
// rendered as JSON later, and a JSON encoder must never meet bytes it cannot
// encode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chat/result.hpp"
#include "chat/text.hpp"  // the blank and filter-text rules every check here follows
#include "utf8.hpp"       // check_text needs it; most users of these checks do too

namespace chat::detail {

inline constexpr std::size_t kMaxHandleBytes = 128;
inline constexpr std::size_t kMaxClientIdBytes = 128;
inline constexpr std::size_t kMaxTitleBytes = 255;
inline constexpr std::size_t kMaxNameBytes = 255;  // names, emails, ids of subjects, models
inline constexpr std::size_t kMaxTagBytes = 64;    // type, status, content_type, message_type
inline constexpr std::size_t kMaxPathBytes = 4096;

// Handles: 1..128 characters of [A-Za-z0-9._:-].
bool is_valid_handle(std::string_view handle) noexcept;

// Optional text: any length up to `max_bytes` (0 allowed), valid UTF-8, no control
// character but tab, line feed and carriage return (chat::has_control_characters).
Status check_text(std::string_view field, std::string_view text, std::size_t max_bytes);
// Required text: 1..max_bytes bytes, valid UTF-8, not blank (chat::is_blank:
// only Unicode White_Space counts as nothing, "\u00a0" as much as " ").
Status check_required_text(std::string_view field, std::string_view text, std::size_t max_bytes);

// Listing bounds: limit in 1..max_page, offset >= 0.
Status check_page(std::int64_t limit, std::int64_t offset, std::int64_t max_page);

Status check_non_negative(std::string_view field, std::int64_t value);
Status check_non_negative(std::string_view field, double value);  // also rejects NaN and infinities

// Lower-cases ASCII letters (uuids are stored in their canonical lower case).
std::string ascii_lower(std::string_view text);

// A strictly positive decimal integer ("42"), nothing else (no sign, no spaces).
std::optional<std::int64_t> parse_positive_id(std::string_view text) noexcept;

// "sess_" + 32 lower-case hex characters (128 bits) drawn from the CSPRNG.
std::string generate_session_handle();

}  // namespace chat::detail
