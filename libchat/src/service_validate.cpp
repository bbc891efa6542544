#include "service_validate.hpp"

#include <charconv>
#include <cmath>

#include "chat/uuid.hpp"

namespace chat::detail {

namespace {

Error invalid(std::string_view field, std::string message) {
  return Error::invalid(std::string(field), std::move(message));
}

}  // namespace

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

std::string sanitize_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    // The longest valid sequence starting at i (1..4 bytes), if any.
    std::size_t len = 0;
    for (std::size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
      if (is_valid_utf8(s.substr(i, n))) {
        len = n;
        break;
      }
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool is_valid_handle(std::string_view h) noexcept {
  if (h.empty() || h.size() > kMaxHandleBytes) return false;
  for (char c : h) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status check_text(std::string_view field, std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return invalid(field, std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes");
  if (!is_valid_utf8(text)) return invalid(field, std::string(field) + " is not valid UTF-8");
  return {};
}

Status check_required_text(std::string_view field, std::string_view text, std::size_t max_bytes) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return invalid(field, std::string(field) + " is required");
  return check_text(field, text, max_bytes);
}

Status check_page(std::int64_t limit, std::int64_t offset, std::int64_t max_page) {
  if (limit < 1 || limit > max_page)
    return invalid("limit", "limit must be between 1 and " + std::to_string(max_page));
  if (offset < 0) return invalid("offset", "offset must not be negative");
  return {};
}

Status check_non_negative(std::string_view field, std::int64_t value) {
  if (value < 0) return invalid(field, std::string(field) + " must not be negative");
  return {};
}

Status check_non_negative(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0)
    return invalid(field, std::string(field) + " must be a non-negative number");
  return {};
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::int64_t> parse_positive_id(std::string_view text) noexcept {
  if (text.empty() || text.size() > 19) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

std::string generate_session_handle() {
  // A v4 uuid has 30 random hex digits once the version and variant digits
  // (positions 12 and 16 of the 32) are dropped; 24 of them are ~96 bits.
  std::string hex;
  for (char c : generate_uuid_v4())
    if (c != '-') hex.push_back(c);
  std::string random;
  for (std::size_t i = 0; i < hex.size(); ++i)
    if (i != 12 && i != 16) random.push_back(hex[i]);
  return "sess_" + random.substr(0, 24);
}

}  // namespace chat::detail
