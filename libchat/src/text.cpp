// The text rules of chat/text.hpp. Unicode tables come from utf8proc (the
// Debian package libutf8proc): general categories for White_Space, the case
// folding and normalisation data for fold_case.
#include "chat/text.hpp"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "utf8.hpp"

namespace chat {

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool is_white_space(char32_t cp) noexcept {
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85) return true;
  if (cp < 0x80 || cp > 0x10FFFF) return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return true;
    default:
      return false;
  }
}

bool is_blank(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  auto left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    // ASCII needs no decoding: most text is decided by its first byte.
    if (static_cast<unsigned char>(*p) < 0x80) {
      if (!is_white_space(*p)) return false;
      ++p;
      --left;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0 || cp < 0 || !is_white_space(static_cast<char32_t>(cp))) return false;
    p += n;
    left -= n;
  }
  return true;
}

std::string fold_case(std::string_view text) {
  const std::string valid = detail::sanitize_utf8(text);
  if (valid.empty()) return valid;
  utf8proc_uint8_t* out = nullptr;
  // Length given (no UTF8PROC_NULLTERM): a NUL is a character like any other.
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid.data()), static_cast<utf8proc_ssize_t>(valid.size()),
                   &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD));
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  if (n == UTF8PROC_ERROR_NOMEM) throw std::bad_alloc();
  // Other errors cannot happen for valid UTF-8; fall back to the text itself.
  if (n < 0 || out == nullptr) return valid;
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

Status check_filter_text(std::string_view field, std::string_view text) {
  const std::string name(field);
  if (text.size() > kMaxFilterTextBytes)
    return Error::invalid(name, name + " is longer than " + std::to_string(kMaxFilterTextBytes) + " bytes");
  if (!is_valid_utf8(text)) return Error::invalid(name, name + " is not valid UTF-8");
  if (has_control_characters(text))
    return Error::invalid(name, name + " must not contain control characters (U+0000..U+001F except tab, "
                                       "line feed, carriage return; U+007F)");
  return {};
}

bool has_control_characters(std::string_view text) noexcept {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return true;
  }
  return false;
}

}  // namespace chat
