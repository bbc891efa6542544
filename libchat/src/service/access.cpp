#include "service/access.hpp"

#include <string>
#include <utility>

namespace chat::detail {

bool is_authenticated(const Principal& who) noexcept { return !who.is_anonymous() && !who.user_id.empty(); }

bool is_staff(const Principal& who) noexcept { return who.is_admin() || who.role == PrincipalRole::kAgent; }

Status require_authenticated(const Principal& who) {
  if (!is_authenticated(who)) return Error::unauthenticated("this operation needs an authenticated caller");
  return {};
}

Status require_admin(const Principal& who) {
  if (!who.is_admin()) return Error::permission_denied("this operation is reserved to admins");
  return {};
}

bool can_see(const Principal& who, const Conversation& c) noexcept {
  if (who.is_admin()) return true;
  if (c.user_id.empty()) return true;
  if (is_authenticated(who) && c.user_id == who.user_id) return true;
  return who.role == PrincipalRole::kAgent && c.kind == ConversationKind::kSupport;
}

bool key_admits(const Principal& who, const ConversationKey& key, const Conversation& c,
                bool by_integer_id) noexcept {
  if (key.kind && c.kind != *key.kind) return false;
  if (!can_see(who, c)) return false;
  // Integer ids are guessable: "visible to whoever names it" would expose
  // every ownerless chat to enumeration. Uuids and handles are capabilities.
  if (by_integer_id && c.user_id.empty() && !is_staff(who)) return false;
  return true;
}

std::optional<std::string> owner_scope(const Principal& who, std::optional<ConversationKind> kind,
                                       std::optional<std::string> requested) {
  switch (who.role) {
    case PrincipalRole::kAdmin:
      return requested;
    case PrincipalRole::kAgent:
      if (kind == ConversationKind::kSupport) return requested;
      // Staff moderate the public landing-page sessions: the ownerless ones.
      if (kind == ConversationKind::kSession) return std::string();
      return who.user_id;
    case PrincipalRole::kUser:
      return who.user_id;
    case PrincipalRole::kAnonymous:
      return std::string();  // ownerless only
  }
  return who.user_id;
}

Status check_writable(const Conversation& c, Timestamp now) {
  const char* what = c.kind == ConversationKind::kSession ? "session" : "conversation";
  if (!c.is_active) return Error::gone(std::string("the ") + what + " is no longer active");
  if (c.expired_at(now)) return Error::gone(std::string(what) + " expired at " + format_timestamp(*c.expires_at));
  return {};
}

Status check_role_allowed(const Principal& who, const Conversation& c, Role role, bool session_client_roles) {
  const bool ownerless_session = c.user_id.empty() && c.kind == ConversationKind::kSession;
  if (session_client_roles && ownerless_session && (role == Role::kAssistant || role == Role::kSystem)) return {};
  switch (role) {
    case Role::kUser:
      return {};
    case Role::kAgent:
      if (is_staff(who)) return {};
      return Error::permission_denied("only agents and admins may write messages with role agent");
    case Role::kAssistant:
      if (is_staff(who)) return {};
      if (is_authenticated(who) && !ownerless_session) return {};
      return Error::permission_denied("only agents and admins may write messages with role assistant here");
    case Role::kSystem:
      if (who.is_admin()) return {};
      if (ownerless_session && is_staff(who)) return {};
      if (c.user_id.empty() && c.kind == ConversationKind::kQuote && is_authenticated(who)) return {};
      return Error::permission_denied("only agents and admins may write messages with role system here");
  }
  return Error::permission_denied("role not allowed");
}

Role agent_side_role(const Principal& who) noexcept { return is_staff(who) ? Role::kAgent : Role::kAssistant; }

Error conversation_not_found(std::optional<ConversationKind> kind) {
  return Error::not_found(kind == ConversationKind::kSession ? "session not found" : "conversation not found");
}

Error message_not_found() { return Error::not_found("message not found"); }

Error not_found_as(Error e, Error replacement) {
  if (e.code == ErrorCode::kNotFound) return replacement;
  return e;
}

}  // namespace chat::detail
