// Message operations: post, read, list, edit, delete, restore, search, and
// the long-poll wait. Private to libchat.
//
// - A post checks visibility, role and writability inside the store's write
//   transaction (an AppendPrecondition), on the conversation row as the
//   writer sees it: a conversation deleted, deactivated or expired after the
//   caller named it never takes the message. An idempotent replay of a post
//   that succeeded before the conversation closed is still answered.
// - Editing needs a writable conversation and the right to write the
//   message's role; a patch that sets no field is refused ("content", as seed
//   000 words it). Anyone who sees a conversation may delete or restore its
//   messages. include_deleted on a listing is admin only.
// - Search: with conversation_id the conversation must be visible (by integer
//   id) and the search is scoped to it; without, the listing's owner scope.
// - Every change publishes on its conversation after the store committed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "chat/service.hpp"
#include "service/key_lookup.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class Messages {
 public:
  Messages(ServiceCore& core, KeyLookup& keys) : core_(core), keys_(keys) {}

  // Checks and normalizes a new message (content required, metadata a JSON object, ...).
  Status validate_new(NewMessage& m) const;
  // The stored message for `client_id` as a replay of (role, content), a
  // kConflict "client_id" when it differs, or nothing when there is none.
  Result<std::optional<Message>> find_replay(std::int64_t conversation_id, const std::string& client_id, Role role,
                                             const std::string& content);

  Result<PostResult> post(const Principal& who, const ConversationKey& key, NewMessage m);
  Result<Message> get(const Principal& who, const MessageKey& key);
  Result<Page<Message>> list(const Principal& who, const ConversationKey& key, MessageQuery q);
  Result<ThreadMessages> list_thread(const Principal& who, const ConversationKey& key, MessageQuery q);
  Result<ThreadMessage> get_thread(const Principal& who, const MessageKey& key);
  Result<Message> edit(const Principal& who, const MessageKey& key, MessagePatch patch);
  Status remove(const Principal& who, const MessageKey& key);
  // Admins only (ChatService::list_message_versions).
  Result<std::vector<MessageVersion>> versions(const Principal& who, const MessageKey& key);
  Result<Message> restore(const Principal& who, const MessageKey& key);
  Result<Page<SearchHit>> search(const Principal& who, SearchQuery q);
  // Ends early (an empty list) when `stop` is requested.
  Result<std::vector<Message>> wait(const Principal& who, const ConversationKey& key, std::int64_t after_id,
                                    std::chrono::milliseconds timeout, const std::stop_token& stop);

 private:
  Status validate_query(const Principal& who, const MessageQuery& q) const;
  Status validate_patch(MessagePatch& patch) const;

  ServiceCore& core_;
  KeyLookup& keys_;
};

}  // namespace chat::detail
