#include "chat/types.hpp"

#include <array>
#include <utility>

namespace chat {

namespace {

// One table per enum keeps to_string and parse in agreement.
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Role, 4> kRoles{{{Role::kUser, "user"},
                                 {Role::kAssistant, "assistant"},
                                 {Role::kAgent, "agent"},
                                 {Role::kSystem, "system"}}};
constexpr Names<MessageStatus, 5> kStatuses{{{MessageStatus::kSent, "sent"},
                                             {MessageStatus::kRead, "read"},
                                             {MessageStatus::kStreaming, "streaming"},
                                             {MessageStatus::kComplete, "complete"},
                                             {MessageStatus::kFailed, "failed"}}};
constexpr Names<ConversationKind, 4> kKinds{{{ConversationKind::kSession, "session"},
                                             {ConversationKind::kSupport, "support"},
                                             {ConversationKind::kCoach, "coach"},
                                             {ConversationKind::kQuote, "quote"}}};
constexpr Names<PrincipalRole, 4> kPrincipalRoles{{{PrincipalRole::kAnonymous, "anonymous"},
                                                   {PrincipalRole::kUser, "user"},
                                                   {PrincipalRole::kAgent, "agent"},
                                                   {PrincipalRole::kAdmin, "admin"}}};

template <typename E, std::size_t N>
std::string_view name_of(const Names<E, N>& names, E e) noexcept {
  for (const auto& [value, name] : names)
    if (value == e) return name;
  return {};
}

template <typename E, std::size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view s) noexcept {
  for (const auto& [value, name] : names)
    if (name == s) return value;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Role r) noexcept { return name_of(kRoles, r); }
std::string_view to_string(MessageStatus s) noexcept { return name_of(kStatuses, s); }
std::string_view to_string(ConversationKind k) noexcept { return name_of(kKinds, k); }
std::string_view to_string(PrincipalRole r) noexcept { return name_of(kPrincipalRoles, r); }
std::optional<Role> parse_role(std::string_view s) noexcept { return value_of(kRoles, s); }
std::optional<MessageStatus> parse_message_status(std::string_view s) noexcept { return value_of(kStatuses, s); }
std::optional<ConversationKind> parse_conversation_kind(std::string_view s) noexcept { return value_of(kKinds, s); }
std::optional<PrincipalRole> parse_principal_role(std::string_view s) noexcept {
  return value_of(kPrincipalRoles, s);
}

}  // namespace chat

namespace chat {

std::size_t stored_bytes(const Message& m) noexcept {
  std::size_t n = m.content.size() + m.metadata.size() + m.client_id.size();
  for (const auto& a : m.attachments) n += a.file_name.size() + a.file_type.size() + a.file_path.size();
  return n;
}

std::size_t stored_bytes(const Conversation& c) noexcept {
  return c.title.size() + c.metadata.size() + c.initial_context.size() + c.name.size() + c.email.size() +
         c.external_user_id.size() + c.subject.size() + c.handle.size() + c.type.size() + c.status.size();
}

}  // namespace chat
