// chat/analytics.hpp: the figures of seed 003's analytics routes
// (ChatService::analytics_dashboard, analytics_global, list_activity_periods).
//
// Every figure counts live rows of live `support` conversations only: a soft
// delete removes a row from every figure at once. The dashboard and global
// figures come from sums the store keeps in the transaction of every write
// (Store::activity_summary, issue 11), so they are exact at every commit and
// cost O(conversations), not O(messages); activity periods of one
// conversation are derived at read time. Plain value types.
//
// Seed words: seed 003 "sessions" (GET .../sessions, `total_sessions`,
// `average_session_duration`, `session_start`, `session_end`,
// `messages_count`) are activity periods here (ActivityPeriod), so that they
// cannot be confused with seed 001 sessions (conversations of kind session).
// "Agent" in AgentActivity and AgentPerformance is the AI persona
// (chat::Agent, seed 003 agent_id), never a human agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/time.hpp"

namespace chat {

// Seed 003 dashboard: figures over the caller's live support conversations.
struct DashboardQuery {
  std::int64_t days = 7;  // daily_stats window: today (UTC, by the service clock) and the days - 1 before (1..366)
};

struct DailyStat {
  std::string date;                // YYYY-MM-DD (UTC)
  std::int64_t conversations = 0;  // live conversations created that day
  std::int64_t messages = 0;       // live messages created that day
};

struct AgentActivity {
  std::int64_t agent_id = 0;
  std::string name;                // empty when the persona no longer exists
  std::int64_t message_count = 0;  // live assistant messages in conversations with this agent_id
};

// An activity period of a conversation (seed 003 "session"): a run of live
// messages in which no two consecutive messages are more than
// ServiceOptions::activity_gap apart.
struct ActivityPeriod {
  std::int64_t conversation_id = 0;
  Timestamp start{};                  // first message (seed 003 session_start)
  Timestamp end{};                    // last message (seed 003 session_end)
  std::int64_t message_count = 0;     // seed 003 messages_count
  std::int64_t duration_minutes = 0;  // (end - start) rounded down to whole minutes
};

struct Dashboard {
  std::int64_t total_conversations = 0;
  std::int64_t total_messages = 0;
  // Mean seconds from a user message to the reply (assistant or agent) that
  // immediately follows it among the live non-system messages of the same
  // conversation, rounded to 0.001; nullopt when there is no such pair.
  std::optional<double> average_response_time;
  std::optional<AgentActivity> most_active_agent;  // most assistant messages; ties: lowest agent id
  std::vector<DailyStat> daily_stats;              // oldest day first, one entry per day of the window
  std::int64_t total_activity_periods = 0;         // seed 003 total_sessions
  // Minutes, mean of exact durations, rounded to 0.01; nullopt without
  // periods (seed 003 average_session_duration). A duration here is the
  // period's last minus first message time in id order (the store stamps
  // appends in order; ActivityPeriod::end is the latest time).
  std::optional<double> average_activity_period_minutes;
};

struct AgentPerformance {
  std::int64_t agent_id = 0;
  std::string name;
  std::int64_t total_conversations = 0;  // live support conversations with this agent_id
  std::int64_t replies = 0;              // live assistant messages in them
  std::int64_t failed_replies = 0;       // of which status failed
  // 100 * (replies - failed_replies) / replies, rounded to 0.1; nullopt without replies.
  std::optional<double> success_rate;
};

struct GlobalAnalytics {
  std::int64_t total_conversations = 0;  // live support conversations, every owner (ownerless included)
  std::int64_t total_messages = 0;       // live messages in them
  std::int64_t users = 0;                // distinct owners (ownerless conversations excluded)
  // Owned conversations / users, rounded to 0.01; 0 without users.
  double average_conversations_per_user = 0;
  std::vector<AgentPerformance> top_performing_agents;  // by total_conversations desc, then replies desc, id; at most 10
};

}  // namespace chat
