// The seeds 002 / 003 analytics inputs: a compact activity log and grouped
// totals, each read in one snapshot on a pooled reader. Private.
#pragma once

#include <optional>

#include "chat/result.hpp"
#include "chat/store.hpp"
#include "store/sqlite/database.hpp"

namespace chat::sqlite {

// log() walks the owner index (conversations_user) or the primary key,
// then messages_conversation per conversation; totals() is grouped
// aggregates over conversations_kind and messages_conversation (and
// conversations_agent, schema step 2, for the per-agent rows); summary()
// reads the sums schema step 7 keeps on write (conversations.activity_*,
// activity_days, activity_gaps) for the scope's conversations. All three are
// heavy reads (Database::read_heavy).
class Activity {
 public:
  explicit Activity(Database& db) : db_(db) {}

  Result<ActivityLog> log(const ActivityQuery& q);
  Result<ActivityTotals> totals(std::optional<ConversationKind> kind);
  Result<ActivitySummary> summary(const ActivitySummaryQuery& q);

 private:
  Database& db_;
};

}  // namespace chat::sqlite
