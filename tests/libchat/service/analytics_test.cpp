// The analytics arithmetic as pure functions: no store, no service.
#include <catch2/catch.hpp>

#include "service/analytics.hpp"

using namespace chat;
using namespace chat::detail;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kNoon = 1'719'662'400'000;  // 2024-06-29T12:00:00Z

Timestamp at(std::chrono::milliseconds offset) { return from_millis(kNoon) + offset; }

MessageActivity msg(std::int64_t id, std::int64_t conversation, Role role, std::chrono::milliseconds offset,
                    MessageStatus status = MessageStatus::kSent) {
  return MessageActivity{id, conversation, role, status, at(offset)};
}

}  // namespace

TEST_CASE("activity periods split on gaps and on conversations", "[analytics][pure]") {
  const std::vector<MessageActivity> messages = {
      msg(1, 1, Role::kUser, 0s),  msg(2, 1, Role::kAssistant, 90s), msg(3, 1, Role::kUser, 30min + 90s),  // exactly the gap
      msg(4, 1, Role::kUser, 61min + 91s),                                                                 // gap + 1 ms
      msg(5, 2, Role::kUser, 61min + 92s)};
  auto periods = activity_periods_of(messages, 30min);
  REQUIRE(periods.size() == 3);
  CHECK(periods[0].conversation_id == 1);
  CHECK(periods[0].message_count == 3);
  CHECK(periods[0].start == at(0s));
  CHECK(periods[0].end == at(30min + 90s));
  CHECK(periods[0].duration_minutes == 31);
  CHECK(periods[1].message_count == 1);
  CHECK(periods[1].duration_minutes == 0);
  CHECK(periods[2].conversation_id == 2);
  CHECK(activity_periods_of({}, 30min).empty());
}

TEST_CASE("dashboard_of: response times, most active persona, days, periods", "[analytics][pure]") {
  ActivityLog log;
  log.conversations = {ConversationActivity{1, "alice", 7, at(-1h)}, ConversationActivity{2, "alice", 3, at(-25h)},
                       ConversationActivity{3, "alice", std::nullopt, at(-10 * 24h)}};
  log.messages = {
      msg(1, 1, Role::kUser, 0s),      msg(2, 1, Role::kSystem, 1s),      msg(3, 1, Role::kAssistant, 4s),  // 4 s
      msg(4, 1, Role::kUser, 10s),     msg(5, 1, Role::kAgent, 12s),                                        // 2 s
      msg(6, 2, Role::kAssistant, 20s), msg(7, 2, Role::kUser, 30s),  // an assistant first is no pair
      msg(8, 3, Role::kAssistant, 40s)};                              // no persona: not counted
  Dashboard d = dashboard_of(log, 3, at(0s), 30min);
  CHECK(d.total_conversations == 3);
  CHECK(d.total_messages == 8);
  REQUIRE(d.average_response_time);
  CHECK(*d.average_response_time == Approx(3.0));
  REQUIRE(d.most_active_agent);  // persona 3 and 7: one assistant message each, lowest id wins
  CHECK(d.most_active_agent->agent_id == 3);
  CHECK(d.most_active_agent->message_count == 1);
  CHECK(d.most_active_agent->name.empty());
  REQUIRE(d.daily_stats.size() == 3);
  CHECK(d.daily_stats[0].date == "2024-06-27");
  CHECK(d.daily_stats[2].date == "2024-06-29");
  CHECK(d.daily_stats[1].conversations == 1);  // conversation 2, 25 h ago
  CHECK(d.daily_stats[2].conversations == 1);  // conversation 1; conversation 3 is outside the window
  CHECK(d.daily_stats[2].messages == 8);
  CHECK(d.total_activity_periods == 3);
  REQUIRE(d.average_activity_period_minutes);
  CHECK(*d.average_activity_period_minutes == Approx(0.12));  // (12 + 10 + 0) s / 3 = 7.3 s, in minutes

  Dashboard empty = dashboard_of(ActivityLog{}, 1, at(0s), 30min);
  CHECK(empty.total_messages == 0);
  CHECK_FALSE(empty.average_response_time);
  CHECK_FALSE(empty.most_active_agent);
  CHECK_FALSE(empty.average_activity_period_minutes);
  CHECK(empty.daily_stats.size() == 1);
}

TEST_CASE("global_analytics_of: rates, averages, order and the top 10", "[analytics][pure]") {
  ActivityTotals t;
  t.conversations = 7;
  t.owned_conversations = 5;
  t.messages = 40;
  t.owners = 3;
  for (std::int64_t id = 1; id <= 12; ++id) t.agents.push_back(AgentTotals{id, "a" + std::to_string(id), 1, 0, 0});
  t.agents[4] = AgentTotals{5, "busy", 3, 3, 1};
  t.agents[8] = AgentTotals{9, "tied", 3, 4, 0};
  GlobalAnalytics g = global_analytics_of(t);
  CHECK(g.total_conversations == 7);
  CHECK(g.total_messages == 40);
  CHECK(g.users == 3);
  CHECK(g.average_conversations_per_user == Approx(1.67));
  REQUIRE(g.top_performing_agents.size() == 10);
  CHECK(g.top_performing_agents[0].agent_id == 9);  // same conversations, more replies
  CHECK(*g.top_performing_agents[0].success_rate == Approx(100.0));
  CHECK(g.top_performing_agents[1].agent_id == 5);
  CHECK(*g.top_performing_agents[1].success_rate == Approx(66.7));
  CHECK(g.top_performing_agents[2].agent_id == 1);  // then by id
  CHECK_FALSE(g.top_performing_agents[2].success_rate);  // no replies
  CHECK(global_analytics_of(ActivityTotals{}).average_conversations_per_user == 0);
}
