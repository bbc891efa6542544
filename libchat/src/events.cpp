#include "chat/events.hpp"

#include <array>
#include <utility>

namespace chat {

namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 11> kNames{{
    {EventType::kMessageCreated, "message.created"},
    {EventType::kMessageUpdated, "message.updated"},
    {EventType::kMessageDeleted, "message.deleted"},
    {EventType::kMessageRestored, "message.restored"},
    {EventType::kConversationCreated, "conversation.created"},
    {EventType::kConversationUpdated, "conversation.updated"},
    {EventType::kConversationDeleted, "conversation.deleted"},
    {EventType::kConversationRestored, "conversation.restored"},
    {EventType::kConversationCleared, "conversation.cleared"},
    {EventType::kConversationRead, "conversation.read"},
    {EventType::kTyping, "typing"},
}};

}  // namespace

std::string_view event_type_name(EventType type) noexcept {
  for (const auto& [t, name] : kNames)
    if (t == type) return name;
  return "unknown";
}

std::optional<EventType> parse_event_type(std::string_view name) noexcept {
  for (const auto& [t, n] : kNames)
    if (n == name) return t;
  return std::nullopt;
}

}  // namespace chat
