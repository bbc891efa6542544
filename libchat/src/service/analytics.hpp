// The arithmetic of seed 003's analytics (chat/analytics.hpp): pure functions
// of the store's activity rows, testable without a store. Private to libchat.
//
// Inputs are live rows only (the store's ActivityLog / ActivityTotals), in the
// store's order: conversations by id, messages by (conversation_id, id).
// - Response time: a reply (assistant or agent) right after a user message of
//   the same conversation, system messages skipped.
// - Most active agent: assistant messages (not human agent ones) counted by
//   the conversation's agent_id (the AI persona); ties go to the lowest id.
// - Daily stats: UTC days of the window ending on the day of `now`.
// - Activity periods: a new one starts at a conversation's first message and
//   after every gap longer than `gap` (ServiceOptions::activity_gap).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "chat/analytics.hpp"
#include "chat/store.hpp"

namespace chat::detail {

std::vector<ActivityPeriod> activity_periods_of(const std::vector<MessageActivity>& messages,
                                                std::chrono::milliseconds gap);

// The dashboard from the sums the store keeps (Store::activity_summary) of
// dashboard_summary_query's scope: what the service serves (issue 11).
// most_active_agent->name is left empty: the caller looks the persona up.
// `days` must be in 1..366 (the service checks it).
Dashboard dashboard_from(const ActivitySummary& summary, std::int64_t days, Timestamp now);
ActivitySummaryQuery dashboard_summary_query(const std::string& user_id, std::int64_t days, Timestamp now,
                                             std::chrono::milliseconds gap);

// The same figures from every live row in memory: the reference the tests
// hold dashboard_from to (it was the service's way before issue 11; its
// memory grows with the user's messages). Same preconditions.
Dashboard dashboard_of(const ActivityLog& log, std::int64_t days, Timestamp now, std::chrono::milliseconds gap);

// Rounded, sorted and cut to the top 10 as chat/analytics.hpp documents.
GlobalAnalytics global_analytics_of(const ActivityTotals& totals);

}  // namespace chat::detail
