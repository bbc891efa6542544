// The messages table: append (counters, client_id replay, search text and
// the change log in one transaction), look up, list, context windows, edits
// with their versions, soft delete and restore. Private.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

// A message as `c` sees it, with its attachments. kNotFound: missing, or it
// or its conversation is soft-deleted and `include_deleted` is false.
Result<Message> load_message(Conn& c, std::int64_t id, bool include_deleted);

class Messages {
 public:
  explicit Messages(Database& db) : db_(db) {}

  Result<AppendOutcome> append(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                               const AppendPrecondition& precondition);
  // The two halves of append, for create_conversation_with_message: the
  // message checked and filled in (no database), then the write in the
  // caller's transaction. `insert` locks the conversation row before it
  // draws the message id (database.hpp, "Cursors"); `out` is not changed,
  // so the transaction can be retried.
  Result<AppendOutcome> prepare(std::int64_t conversation_id, const NewMessage& m, Timestamp now);
  Result<AppendOutcome> insert(Conn& w, std::int64_t conversation_id, const NewMessage& m, const AppendOutcome& out,
                               const AppendPrecondition& precondition);
  Result<Message> get(std::int64_t id, bool include_deleted);
  Result<Message> find_by_uuid(std::string_view uuid, bool include_deleted);
  Result<Message> find_by_client_id(std::int64_t conversation_id, std::string_view client_id);
  Result<Page<Message>> list(std::int64_t conversation_id, const MessageQuery& q);
  Result<std::vector<ContextMessage>> list_context(std::int64_t conversation_id, const ContextQuery& q);
  Result<Message> update(std::int64_t id, const MessagePatch& p, const AuditContext& audit);
  Result<std::vector<MessageVersion>> versions(std::int64_t message_id);
  Status soft_delete(std::int64_t id, const AuditContext& audit);
  Result<Message> restore(std::int64_t id, const AuditContext& audit);
  Result<std::int64_t> last_id();

 private:
  Database& db_;
};

}  // namespace chat::pg
