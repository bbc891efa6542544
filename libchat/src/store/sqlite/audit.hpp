// The audit trail of destructive changes, and retention (purge). Private.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/sqlite/database.hpp"

namespace chat::sqlite {

// Appends one audit entry; called inside the write transaction of the change
// it records, so the entry and the change commit together.
void write_audit(Conn& w, const AuditContext& audit, const char* action, const char* target_type,
                 std::int64_t target_id, std::int64_t conversation_id, const std::string& detail);

// {"<key>":n}
std::string audit_detail_count(const char* key, std::int64_t n);

class AuditTrail {
 public:
  explicit AuditTrail(Database& db) : db_(db) {}

  // Newest first.
  Result<std::vector<AuditEntry>> list(const AuditQuery& q);
  // Returns messages + conversations removed (attachments and index rows go
  // with them, uncounted) and audits itself with target_type "store".
  Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit);

 private:
  Database& db_;
};

}  // namespace chat::sqlite
