// The analytics reads (seeds 002 / 003): Store::activity, activity_totals
// and activity_summary. Private.
//
// Computed by SQL aggregates at read time, in one snapshot on the heavy-read
// share of the pool: O(rows in scope) per call (the SQLite store keeps sums
// on write and answers in O(conversations)), in memory bounded by the number
// of days (activity() returns its rows, as the contract says). The figures
// equal the SQLite store's on the same data.
#pragma once

#include <optional>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

class Activity {
 public:
  explicit Activity(Database& db) : db_(db) {}
  Result<ActivityLog> log(const ActivityQuery& q);
  Result<ActivityTotals> totals(std::optional<ConversationKind> kind);
  Result<ActivitySummary> summary(const ActivitySummaryQuery& q);

 private:
  Database& db_;
};

}  // namespace chat::pg
