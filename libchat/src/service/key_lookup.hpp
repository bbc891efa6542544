// Resolving conversation and message keys (chat/keys.hpp) to rows the caller
// may reach. Private to libchat.
//
// A key by uuid is looked up in canonical lower case; kAny tries uuid, then
// handle, then (numeric text) the integer id. Whether the caller may reach
// the row is judged by key_admits() (access.hpp), including the rule that
// ownerless conversations are not reached by integer id except by staff.
// Everything the caller may not reach answers the key's not-found error.
#pragma once

#include <utility>

#include "chat/service.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

// A conversation and how its key reached it.
struct ResolvedConversation {
  Conversation conversation;
  bool by_integer_id = false;  // through By::kId or the numeric fallback of By::kAny
};

class KeyLookup {
 public:
  explicit KeyLookup(ServiceCore& core) : core_(core) {}

  // The conversation `key` names, when `who` may reach it.
  Result<ResolvedConversation> resolve(const Principal& who, const ConversationKey& key,
                                       bool include_deleted = false);
  Result<Conversation> conversation(const Principal& who, const ConversationKey& key, bool include_deleted = false);
  // The message and its (live) conversation, when `who` may see both.
  Result<std::pair<Message, Conversation>> message(const Principal& who, const MessageKey& key,
                                                   bool include_deleted = false);

 private:
  Result<ResolvedConversation> lookup(const ConversationKey& key, bool include_deleted);

  ServiceCore& core_;
};

}  // namespace chat::detail
