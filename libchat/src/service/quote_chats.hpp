// Subject conversations (ConversationKey::of_subject; seed 000 quote chats).
// Private to libchat.
//
// THE conversation of a kind about a subject (a job): handle
// "<kind>/<subject id>", ownerless, titled after the subject, shared by every
// authenticated caller, and created by whichever operation names it first
// (reads included), so that reading an empty chat and posting to it agree on
// one row. Get or create is one step: look the handle up, create it when
// missing; a concurrent first use loses the unique-handle race with
// kConflict and reads the winner's row. The '/' in the handle is refused in
// client-chosen handles (seed 001 session_id), so none can squat it. A
// soft-deleted one is not re-created: the key answers kNotFound until it is
// restored.
#pragma once

#include "chat/service.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

// Errors: kUnauthenticated for anonymous callers; kNotFound "subject" for an
// unknown subject; kNotFound (the key's message) for a key without a kind or
// a deleted conversation.
Result<Conversation> subject_conversation(ServiceCore& core, const Principal& who, const ConversationKey& key);

}  // namespace chat::detail
