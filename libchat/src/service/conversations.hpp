// Conversation operations: create, read, list, update, delete, restore,
// clear, mark read, purge. Private to libchat.
//
// - Owner at creation: the caller's user_id; an admin may name another
//   user_id (empty: the admin). Anonymous callers create ownerless
//   conversations; coach and quote conversations need an authenticated caller.
// - kSession without a handle gets "sess_" + 24 hex characters; its
//   expires_at defaults to now + session_ttl. A given expires_at must be in
//   the future.
// - agent_id must name a persona (kNotFound, field "agent_id"); a coach or
//   quote conversation's subject, when given, must name a subject (kNotFound,
//   field "subject"): seeds 000 and 004 answer 404 for an unknown job.
// - Anyone who sees a conversation may update, delete, restore or clear it;
//   these work on expired ones. include_deleted on a listing is admin only.
// - Restoring a row that is not deleted answers it unchanged (no audit entry).
// - mark_read is the owner's (an admin's; anyone's for ownerless
//   conversations): an agent who sees a support conversation gets
//   kPermissionDenied, so that reading it does not clear the customer's count.
// - purge publishes no event: it removes rows that were already invisible.
#pragma once

#include <cstdint>

#include "chat/service.hpp"
#include "service/key_lookup.hpp"
#include "service/registries.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class Conversations {
 public:
  Conversations(ServiceCore& core, KeyLookup& keys, Registries& registries)
      : core_(core), keys_(keys), registries_(registries) {}

  Result<Conversation> create(const Principal& who, NewConversation c);
  // What create stores, checked and completed (owner, session handle and
  // expiry, uuid) but not stored: for a caller that stores it together with
  // its first message (the seed 002 post).
  Result<NewConversation> prepare(const Principal& who, NewConversation c, Timestamp now);
  Result<Conversation> get(const Principal& who, const ConversationKey& key);
  Result<Page<Conversation>> list(const Principal& who, ConversationQuery q);
  Result<Conversation> update(const Principal& who, const ConversationKey& key, ConversationPatch patch);
  Status remove(const Principal& who, const ConversationKey& key);
  Result<Conversation> restore(const Principal& who, const ConversationKey& key);
  Result<std::int64_t> clear(const Principal& who, const ConversationKey& key);
  Result<Conversation> mark_read(const Principal& who, const ConversationKey& key, std::int64_t last_read_message_id);
  Result<std::int64_t> purge(const Principal& who);

 private:
  Status validate_new(const Principal& who, NewConversation& c, Timestamp now);

  ServiceCore& core_;
  KeyLookup& keys_;
  Registries& registries_;
};

}  // namespace chat::detail
