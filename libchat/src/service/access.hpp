// Who may see and write what: the principal, role, visibility and
// writability rules of the ChatService. Pure functions of the principal and
// the rows. Private to libchat.
//
// Visibility (what is not visible answers kNotFound with the same message as
// a missing row, so that ids leak nothing):
// - admin: everything; owner: their own; human agent: their own and every
//   `support` conversation; anyone: ownerless conversations, except that an
//   ownerless conversation reached by its guessable integer id is visible to
//   agents and admins only (chat/keys.hpp).
// Listing and search scope (owner_scope): admin the query as given; user
// their own; agent every support conversation when the query is about
// support (its user_id filter kept), the ownerless ones when it is about
// sessions, otherwise their own; anonymous
// ownerless conversations only (user_id = "", "no owner" to the store), and
// only where the service allows anonymous listing (ServiceOptions).
// Writing:
// - Posting, replying and editing need a writable conversation (kGone when
//   is_active is false or expires_at has passed).
// - Role kUser is open to whoever sees the conversation. kAgent needs a human
//   agent or an admin. An ownerless session is reached by its capability
//   alone, so a message that speaks for the service there (kAssistant,
//   kSystem) needs an agent or an admin: a capability holder cannot plant a
//   fake assistant answer (issue 9). Elsewhere kAssistant is open to any
//   authenticated caller who sees the conversation (seed 000 clients store
//   assistant messages themselves), never to anonymous ones; kSystem needs an
//   admin, or an authenticated caller in an ownerless quote conversation.
//   Otherwise kPermissionDenied.
// - The agent side of a support conversation (NewMessage::agent_side) is
//   Role::kAgent for a human agent or an admin, Role::kAssistant for anyone
//   else (writing for the AI persona).
#pragma once

#include <optional>
#include <string>

#include "chat/keys.hpp"
#include "chat/result.hpp"
#include "chat/types.hpp"

namespace chat::detail {

bool is_authenticated(const Principal& who) noexcept;
// A human support agent or an admin.
bool is_staff(const Principal& who) noexcept;

Status require_authenticated(const Principal& who);
Status require_admin(const Principal& who);

// Ownership alone (any key but an integer id).
bool can_see(const Principal& who, const Conversation& c) noexcept;
// Whether `who` reaches `c` through `key`: its kind, ownership, and the
// integer-id rule (`by_integer_id`: the key resolved through an integer id).
bool key_admits(const Principal& who, const ConversationKey& key, const Conversation& c,
                bool by_integer_id) noexcept;

// The owner filter of a listing or search by `who` about conversations of `kind`.
std::optional<std::string> owner_scope(const Principal& who, std::optional<ConversationKind> kind,
                                       std::optional<std::string> requested);

Status check_writable(const Conversation& c, Timestamp now);
// session_client_roles: ServiceOptions::session_client_roles (seed 001's rule:
// any writer of an ownerless session may use roles assistant and system).
Status check_role_allowed(const Principal& who, const Conversation& c, Role role, bool session_client_roles);
Role agent_side_role(const Principal& who) noexcept;

// Not-found errors worded by the key's kind (chat/keys.hpp).
Error conversation_not_found(std::optional<ConversationKind> kind);
Error message_not_found();
// A store kNotFound becomes `replacement`, so that a row that vanished
// between two calls reads exactly like one that never existed.
Error not_found_as(Error e, Error replacement);

}  // namespace chat::detail
