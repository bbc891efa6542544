// The seed 002 customer widget post (post_support_message). Private to libchat.
//
// A conversation string that is not a uuid, or names no support conversation
// the caller sees (unknown, deleted, another user's), creates a new one:
// owned by an authenticated user, ownerless for anonymous callers. Human
// agents and admins post role agent and never create (kNotFound, field
// "conversation"): they answer existing conversations. name/email are taken
// at creation only. The result lists the messages after the cursor.
// A new conversation and its first message commit in one store transaction
// (Store::create_conversation_with_message), after SupportPost::
// admit_new_conversation admitted it; a post to an existing one is
// judged writable inside the append's transaction (AppendPrecondition).
#pragma once

#include <optional>

#include "chat/service.hpp"
#include "service/conversations.hpp"
#include "service/key_lookup.hpp"
#include "service/messages.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class SupportDesk {
 public:
  SupportDesk(ServiceCore& core, KeyLookup& keys, Conversations& conversations, Messages& messages)
      : core_(core), keys_(keys), conversations_(conversations), messages_(messages) {}

  Result<SupportPostResult> post(const Principal& who, SupportPost p);

 private:
  // The support conversation `p` names, when it names one the caller sees
  // (nullopt: the post opens a new one).
  Result<std::optional<Conversation>> named_conversation(const Principal& who, const SupportPost& p);

  ServiceCore& core_;
  KeyLookup& keys_;
  Conversations& conversations_;
  Messages& messages_;
};

}  // namespace chat::detail
