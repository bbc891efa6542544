// chat/keys.hpp: how a caller names a conversation or a message.
//
// A key is a plain value (copyable, thread-safe to share read-only). It names
// a row; whether the caller may reach that row is the service's decision, and
// a row the caller may not reach answers exactly like one that does not exist
// (kNotFound, same message), so that keys leak nothing.
//
// Integer ids are guessable, uuids and handles are capabilities:
// - A conversation named by its integer id (By::kId, or the numeric fallback
//   of By::kAny) that has no owner (a seed 001 session, a seed 002 customer
//   chat) is not found unless the caller is a human agent or an admin
//   (PrincipalRole::kAgent / kAdmin). Named by its uuid or its handle, it is
//   found by anyone.
// - Owned conversations follow the ownership rules of chat/service.hpp
//   whatever the key.
//
// Not-found wording follows the key's kind, so that no layer rewrites error
// text: a key with kind kSession answers "session not found" (seed 001), any
// other "conversation not found"; messages answer "message not found".
//
// Seed words: seed 001 `id` (uuid) and `session_id` (handle) of a session;
// seed 002 the conversation uuid; seed 003 the integer conversation id;
// seed 004 `session_id` (uuid, or the integer id); seed 000 the job id
// (By::kSubject). Messages: seed 001 `id` (uuid), seed 000 `message_id`
// (client_id), seed 003 the integer id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "chat/types.hpp"

namespace chat {

// Names a conversation by its integer id, its uuid, its handle, or any of
// them (`any`: a uuid-shaped key is tried as a uuid first, then as a handle;
// a numeric key as an id last). With `kind` set, a conversation of another
// kind is not found: each API sees only its own kind of threads.
//
// `subject` (seed 000 quote chats) names THE conversation of `kind` about a
// subject (a job): one per (kind, subject), shared by every authenticated
// caller, created ownerless and empty the first time it is named, by any
// operation, so that "get or create" is one race-free step (the store's
// unique handle decides between concurrent first uses). The caller must be
// authenticated (kUnauthenticated); an unknown subject answers kNotFound with
// field "subject". Its internal handle contains a '/', which client-chosen
// handles may not, so no client can take it first.
struct ConversationKey {
  enum class By { kId, kUuid, kHandle, kAny, kSubject };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  std::optional<ConversationKind> kind;

  static ConversationKey of_id(std::int64_t id, std::optional<ConversationKind> k = {}) {
    return {By::kId, id, {}, k};
  }
  static ConversationKey of_uuid(std::string uuid, std::optional<ConversationKind> k = {}) {
    return {By::kUuid, 0, std::move(uuid), k};
  }
  static ConversationKey of_handle(std::string handle, std::optional<ConversationKind> k = {}) {
    return {By::kHandle, 0, std::move(handle), k};
  }
  static ConversationKey of_any(std::string key, std::optional<ConversationKind> k = {}) {
    return {By::kAny, 0, std::move(key), k};
  }
  static ConversationKey of_subject(std::string subject_id, ConversationKind k) {
    return {By::kSubject, 0, std::move(subject_id), k};
  }
};

// Names a message by id, by uuid, or by client_id within a conversation.
// With `conversation.kind` set, a message of a conversation of another kind
// is not found (an API reaches only messages of its own kind of threads).
struct MessageKey {
  enum class By { kId, kUuid, kClientId };
  By by = By::kId;
  std::int64_t id = 0;
  std::string text;
  ConversationKey conversation;  // used with kClientId

  static MessageKey of_id(std::int64_t id) { return {By::kId, id, {}, {}}; }
  static MessageKey of_uuid(std::string uuid, std::optional<ConversationKind> k = {}) {
    return {By::kUuid, 0, std::move(uuid), ConversationKey{ConversationKey::By::kId, 0, {}, k}};
  }
  static MessageKey of_client_id(ConversationKey conversation, std::string client_id) {
    return {By::kClientId, 0, std::move(client_id), std::move(conversation)};
  }
};

}  // namespace chat
