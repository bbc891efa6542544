// chat/text.hpp: the text rules every layer shares (library, stores, HTTP parsers).
//
// Text is UTF-8 everywhere. Three questions are asked of it in many places and
// must get one answer everywhere, so they live here:
//
// - Is it valid UTF-8?  is_valid_utf8: strict (RFC 3629): no overlong forms, no
//   surrogates, nothing past U+10FFFF.
// - Is it blank?  is_blank: empty, or only characters with the Unicode property
//   White_Space (general categories Zs, Zl, Zp plus U+0009..U+000D and U+0085):
//   " ", "\u00a0", "\u3000", "\u2028", "\v" are all blank. Every required text
//   (a message's content, a title, a question) is refused when blank, by
//   chatd's parsers and by ChatService alike.
// - Are two texts equal without regard to case?  fold_case: Unicode full case
//   folding (CaseFolding.txt, statuses C+F: "Straße" and "STRASSE" both fold to
//   "strasse") followed by NFC normalisation (precomposed "Ü" and "U" + U+0308
//   fold alike). A store compares fold_case(haystack) against
//   fold_case(needle); any store (SQLite today, PostgreSQL later) applies this
//   function, so "case-insensitive" means the same thing in all of them.
//
// Search and filter text (a listing's `search`, the full-text `query`) follows
// one rule, check_filter_text: valid UTF-8, at most kMaxFilterTextBytes bytes,
// and no control character other than tab, line feed and carriage return (so
// no NUL, which a storage engine may read as the end of a C string, and no
// other C0 control or DEL). Text that breaks the rule is refused with
// kInvalidArgument naming the field; text that keeps it is matched literally
// (no wildcard, operator or quote in it means anything). Exact-match filters
// (user_id, external_user_id, subject) compare bytes and need no rule.
//
// Thread safety: every function is pure and may be called from any thread.
// Failure: nothing throws except std::bad_alloc from fold_case.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace chat {

// Longest search or filter text accepted (bytes of UTF-8).
inline constexpr std::size_t kMaxFilterTextBytes = 1024;

// Strict UTF-8 (RFC 3629).
bool is_valid_utf8(std::string_view text) noexcept;

// Unicode White_Space: Zs, Zl, Zp, U+0009..U+000D and U+0085.
bool is_white_space(char32_t code_point) noexcept;

// True for "" and for text made only of White_Space characters. Bytes that are
// not UTF-8 are not white space (such text is not blank; it is invalid, which
// is_valid_utf8 reports).
bool is_blank(std::string_view text) noexcept;

// Full Unicode case folding, then NFC. Deterministic for a given Unicode
// version (the one of the linked utf8proc). Bytes that are not UTF-8 are
// replaced by U+FFFD first, so the result is always valid UTF-8.
std::string fold_case(std::string_view text);

// True when `text` holds a control character other than tab, line feed and
// carriage return: U+0000..U+001F or U+007F. Stored text (content, titles,
// names, ids, prompts) is refused with such characters by ChatService, as
// search text is by check_filter_text: a NUL or a terminal escape is never
// part of a message a person wrote.
bool has_control_characters(std::string_view text) noexcept;

// The search / filter text rule above. kInvalidArgument with `field` set:
// "<field> is longer than 1024 bytes", "<field> is not valid UTF-8",
// "<field> must not contain control characters (U+0000..U+001F except tab,
// line feed, carriage return; U+007F)". An empty text passes (it filters nothing).
Status check_filter_text(std::string_view field, std::string_view text);

}  // namespace chat
