// Seed 004 resume-coach sessions. Private to libchat.
//
// - A start reuses the caller's live coach session for the job, or opens one
//   whose initial_context is built from the caller's profile and the job
//   (coach_context.hpp) and whose metadata records {"job_id",
//   "resume_tokens", "job_tokens", "resume_truncated", "job_truncated"}: the
//   service writes and reads that metadata; callers get it as CoachSession.
// - The handle "coach-<first 128 bits of SHA-256(user_id NUL job_id) in
//   hex>-<n>" with n = 1 + the number of coach sessions, deleted ones
//   included, the user ever had for the job: a concurrent start that loses
//   the race for a handle (kConflict) re-reads the winner's session and asks
//   there.
// - Deactivating a session is delete_conversation (a soft delete with its
//   audit entry): the session leaves every read, and the next start opens a
//   new one.
// - Reading a session follows the ownership rules (chat/service.hpp); the
//   listing is always the caller's own sessions, admins included.
#pragma once

#include <optional>
#include <string>

#include "chat/service.hpp"
#include "service/conversations.hpp"
#include "service/key_lookup.hpp"
#include "service/replies.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class CoachSessions {
 public:
  CoachSessions(ServiceCore& core, KeyLookup& keys, Conversations& conversations, Replies& replies)
      : core_(core), keys_(keys), conversations_(conversations), replies_(replies) {}

  Result<CoachStartResult> start(const Principal& who, CoachStart s);
  Result<CoachSession> get(const Principal& who, const ConversationKey& key);
  Result<Page<CoachSession>> list(const Principal& who, const CoachSessionQuery& q);
  Result<CoachContextSections> context(const Principal& who, const ConversationKey& key);

 private:
  // The caller's live session for the job, or a new one (`created` says which).
  Result<Conversation> open(const Principal& who, const Subject& job, bool& created);
  Result<Conversation> create(const Principal& who, const Subject& job, std::int64_t sessions_ever);

  ServiceCore& core_;
  KeyLookup& keys_;
  Conversations& conversations_;
  Replies& replies_;
};

// The figures a coach conversation's metadata records (absent ones read 0 / false).
CoachSession coach_session_of(Conversation c);

}  // namespace chat::detail
