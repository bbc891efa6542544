// The audit trail: entries written in the caller's transaction, the listing,
// and purge (which removes rows for good and audits itself). Private.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

// One audit entry, in the caller's write transaction.
void write_audit(Conn& w, const AuditContext& audit, const char* action, const char* target_type,
                 std::int64_t target_id, std::int64_t conversation_id, const std::string& detail);
// {"<key>":n}
std::string audit_detail_count(const char* key, std::int64_t n);

class AuditTrail {
 public:
  explicit AuditTrail(Database& db) : db_(db) {}
  Result<std::vector<AuditEntry>> list(const AuditQuery& q);
  Result<std::int64_t> purge(Timestamp deleted_before, const AuditContext& audit);

 private:
  Database& db_;
};

}  // namespace chat::pg
