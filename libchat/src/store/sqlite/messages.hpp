// The messages table: append (with its precondition and counters), look up,
// list, patch, soft delete and restore. Private.
//
// A conversation's counters (total_messages, unread_count, total_tokens,
// last_message_at) move in the same transaction as the message change that
// moves them.
#pragma once

#include <cstdint>
#include <string_view>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/sqlite/database.hpp"

namespace chat::sqlite {

class SearchIndex;

// The message row with its attachments. A message is visible when it and its
// conversation are live, or when `include_deleted` is asked for; kNotFound
// otherwise.
Result<Message> load_message(Conn& c, std::int64_t id, bool include_deleted);

// Largest message id ever assigned (AUTOINCREMENT's sequence; 0 when none).
std::int64_t last_assigned_message_id(Conn& c);

class Messages {
 public:
  Messages(Database& db, SearchIndex& index) : db_(db), index_(index) {}

  Result<AppendOutcome> append(std::int64_t conversation_id, const NewMessage& m, Timestamp now,
                               const AppendPrecondition& precondition);
  // The two halves of append, for a caller that appends in its own write
  // transaction (Store::create_conversation_with_message): the row checked
  // and filled in (no database), then the precondition, counters and INSERT.
  Result<AppendOutcome> prepare(std::int64_t conversation_id, const NewMessage& m, Timestamp now);
  Result<AppendOutcome> insert(Conn& w, std::int64_t conversation_id, const NewMessage& m, AppendOutcome out,
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
  SearchIndex& index_;
};

}  // namespace chat::sqlite
