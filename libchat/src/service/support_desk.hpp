// The seed 002 customer widget post (post_support_message). Private to libchat.
//
// A conversation string that is not a uuid, or names no support conversation
// the caller sees (unknown, deleted, another user's), creates a new one:
// owned by an authenticated user, ownerless for anonymous callers. Human
// agents and admins post role agent and never create (kNotFound, field
// "conversation"): they answer existing conversations. name/email are taken
// at creation only. The result lists the messages after the cursor.
#pragma once

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
  // The support conversation `p` names, or a new one; `created` says which.
  Result<Conversation> conversation_for(const Principal& who, SupportPost& p, bool& created);

  ServiceCore& core_;
  KeyLookup& keys_;
  Conversations& conversations_;
  Messages& messages_;
};

}  // namespace chat::detail
