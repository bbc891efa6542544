#include "service/service_validate.hpp"

#include <charconv>
#include <cmath>

#include "chat/uuid.hpp"

namespace chat::detail {

namespace {

Error invalid(std::string_view field, std::string message) {
  return Error::invalid(std::string(field), std::move(message));
}

}  // namespace

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
  if (has_control_characters(text))
    return invalid(field, std::string(field) + " must not contain control characters (U+0000..U+001F except tab, "
                                               "line feed, carriage return; U+007F)");
  return {};
}

Status check_required_text(std::string_view field, std::string_view text, std::size_t max_bytes) {
  if (is_blank(text))
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
  // The handle is a session's capability (docs/seed-001.md): 32 random hex
  // digits, 128 bits. A v4 uuid has 30 random hex digits once the version and
  // variant digits (positions 12 and 16 of the 32) are dropped, so two are drawn.
  std::string random;
  while (random.size() < 32) {
    std::string hex;
    for (char c : generate_uuid_v4())
      if (c != '-') hex.push_back(c);
    for (std::size_t i = 0; i < hex.size() && random.size() < 32; ++i)
      if (i != 12 && i != 16) random.push_back(hex[i]);
  }
  return "sess_" + random;
}

}  // namespace chat::detail
