#include "service/typing_notice.hpp"

#include <charconv>

namespace chat::detail {

namespace {

constexpr std::string_view kPrefix = "t1;";

// The next ';'-terminated field of `rest`, removed from it.
std::optional<std::string_view> field(std::string_view& rest) {
  const auto end = rest.find(';');
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view f = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  return f;
}

}  // namespace

std::string encode_typing_notice(const Event& e) {
  const Typing t = e.typing.value_or(Typing{});
  std::string out(kPrefix);
  out += t.active ? '1' : '0';
  out += ';';
  out += t.role == Role::kAgent ? 'a' : 'u';
  out += ';';
  out += std::to_string(to_millis(e.at));
  out += ';';
  out += t.user_id;
  return out;
}

std::optional<Event> decode_typing_notice(std::int64_t conversation_id, std::string_view payload) {
  if (payload.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = payload.substr(kPrefix.size());
  const auto active = field(rest);
  const auto role = field(rest);
  const auto at = field(rest);
  if (!active || !role || !at || (*active != "0" && *active != "1") || (*role != "u" && *role != "a"))
    return std::nullopt;
  std::int64_t ms = 0;
  const auto [ptr, ec] = std::from_chars(at->data(), at->data() + at->size(), ms);
  if (at->empty() || ec != std::errc{} || ptr != at->data() + at->size()) return std::nullopt;
  Event e;
  e.conversation_id = conversation_id;
  e.type = EventType::kTyping;
  e.at = from_millis(ms);
  e.typing = Typing{std::string(rest), *role == "a" ? Role::kAgent : Role::kUser, *active == "1"};
  return e;
}

}  // namespace chat::detail
