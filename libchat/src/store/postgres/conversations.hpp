// The conversations table: create, look up, list, patch, soft delete,
// restore, clear and read marks. Private.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

// The conversation row as `c` sees it. kNotFound: missing, or soft-deleted
// and `include_deleted` is false.
Result<Conversation> load_conversation(Conn& c, std::int64_t id, bool include_deleted);
// The same, locking the row for the caller's write transaction: every write
// that draws message or event ids of the conversation calls this (or
// updates the row) first (database.hpp, "Cursors").
Result<Conversation> lock_conversation(Conn& w, std::int64_t id, bool include_deleted);

class Conversations {
 public:
  explicit Conversations(Database& db) : db_(db) {}

  Result<Conversation> create(const NewConversation& in, Timestamp now);
  // The two halves of create, for create_conversation_with_message: the row
  // checked and filled in (no database), then its INSERT and its
  // conversation.created event (sets c.id; throws PgFailure on a constraint
  // violation).
  Result<Conversation> prepare(const NewConversation& in, Timestamp now);
  void insert(Conn& w, Conversation& c);
  Result<Conversation> get(std::int64_t id, bool include_deleted);
  Result<Conversation> find_by_uuid(std::string_view uuid, bool include_deleted);
  Result<Conversation> find_by_handle(std::string_view handle, bool include_deleted);
  Result<Page<Conversation>> list(const ConversationQuery& q);
  Result<Conversation> update(std::int64_t id, const ConversationPatch& p, Timestamp now);
  Status soft_delete(std::int64_t id, const AuditContext& audit);
  Result<Conversation> restore(std::int64_t id, const AuditContext& audit);
  Result<std::int64_t> clear(std::int64_t id, const AuditContext& audit);
  Result<Conversation> mark_read(std::int64_t id, std::int64_t up_to, Timestamp now);

 private:
  Database& db_;
};

}  // namespace chat::pg
