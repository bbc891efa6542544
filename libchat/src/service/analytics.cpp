#include "service/analytics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace chat::detail {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

// The UTC day number of `t` (floor division, so that times before 1970 work too).
std::int64_t day_of(Timestamp t) {
  const std::int64_t ms = to_millis(t);
  return ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs;
}


std::optional<double> average_response_time(const std::vector<MessageActivity>& messages) {
  double sum = 0;
  std::int64_t pairs = 0;
  const MessageActivity* prev = nullptr;
  for (const auto& m : messages) {
    if (m.role == Role::kSystem) continue;
    if (prev != nullptr && prev->conversation_id != m.conversation_id) prev = nullptr;
    if (prev != nullptr && prev->role == Role::kUser && (m.role == Role::kAssistant || m.role == Role::kAgent)) {
      sum += static_cast<double>(to_millis(m.created_at) - to_millis(prev->created_at)) / 1000.0;
      ++pairs;
    }
    prev = &m;
  }
  if (pairs == 0) return std::nullopt;
  return std::round(sum / static_cast<double>(pairs) * 1000.0) / 1000.0;
}

std::optional<AgentActivity> most_active_agent(const ActivityLog& log) {
  std::map<std::int64_t, std::int64_t> agent_of;  // conversation -> persona
  for (const auto& c : log.conversations)
    if (c.agent_id) agent_of[c.id] = *c.agent_id;
  std::map<std::int64_t, std::int64_t> per_agent;
  for (const auto& m : log.messages) {
    if (m.role != Role::kAssistant) continue;
    if (auto it = agent_of.find(m.conversation_id); it != agent_of.end()) ++per_agent[it->second];
  }
  std::optional<AgentActivity> best;
  for (const auto& [agent, n] : per_agent)  // ascending ids: strict > keeps the lowest on ties
    if (!best || n > best->message_count) best = AgentActivity{agent, {}, n};
  return best;
}

std::vector<DailyStat> daily_stats(const ActivityLog& log, std::int64_t days, Timestamp now) {
  const std::int64_t today = day_of(now);
  const std::int64_t first = today - (days - 1);
  std::vector<DailyStat> out(static_cast<std::size_t>(days));
  for (std::int64_t i = 0; i < days; ++i)
    out[static_cast<std::size_t>(i)].date = format_timestamp(from_millis((first + i) * kDayMs)).substr(0, 10);
  auto bucket = [&](Timestamp t) -> DailyStat* {
    const std::int64_t day = day_of(t);
    if (day < first || day > today) return nullptr;
    return &out[static_cast<std::size_t>(day - first)];
  };
  for (const auto& c : log.conversations)
    if (auto* b = bucket(c.created_at)) ++b->conversations;
  for (const auto& m : log.messages)
    if (auto* b = bucket(m.created_at)) ++b->messages;
  return out;
}

}  // namespace

std::vector<ActivityPeriod> activity_periods_of(const std::vector<MessageActivity>& messages,
                                                std::chrono::milliseconds gap) {
  std::vector<ActivityPeriod> out;
  const MessageActivity* prev = nullptr;
  for (const auto& m : messages) {
    if (prev == nullptr || prev->conversation_id != m.conversation_id || m.created_at - prev->created_at > gap) {
      ActivityPeriod p;
      p.conversation_id = m.conversation_id;
      p.start = m.created_at;
      out.push_back(p);
    }
    ActivityPeriod& cur = out.back();
    cur.end = std::max(cur.end, m.created_at);
    ++cur.message_count;
    cur.duration_minutes = (to_millis(cur.end) - to_millis(cur.start)) / 60'000;
    prev = &m;
  }
  return out;
}

Dashboard dashboard_of(const ActivityLog& log, std::int64_t days, Timestamp now, std::chrono::milliseconds gap) {
  Dashboard d;
  d.total_conversations = static_cast<std::int64_t>(log.conversations.size());
  d.total_messages = static_cast<std::int64_t>(log.messages.size());
  d.average_response_time = average_response_time(log.messages);
  d.most_active_agent = most_active_agent(log);
  d.daily_stats = daily_stats(log, days, now);
  const auto periods = activity_periods_of(log.messages, gap);
  d.total_activity_periods = static_cast<std::int64_t>(periods.size());
  if (!periods.empty()) {
    double minutes = 0;
    for (const auto& p : periods) minutes += static_cast<double>(to_millis(p.end) - to_millis(p.start)) / 60'000.0;
    d.average_activity_period_minutes = std::round(minutes / static_cast<double>(periods.size()) * 100.0) / 100.0;
  }
  return d;
}

Dashboard dashboard_from(const ActivitySummary& s, std::int64_t days, Timestamp now) {
  Dashboard d;
  d.total_conversations = s.conversations;
  d.total_messages = s.messages;
  // Whole milliseconds then seconds: the mean rounded to 0.001 s without
  // summing floating-point seconds.
  if (s.reply_pairs > 0)
    d.average_response_time =
        std::round(static_cast<double>(s.reply_ms) / static_cast<double>(s.reply_pairs)) / 1000.0;
  if (s.most_active_agent) d.most_active_agent = AgentActivity{*s.most_active_agent, {}, s.most_active_agent_messages};
  const std::int64_t first = day_of(now) - (days - 1);
  d.daily_stats.resize(static_cast<std::size_t>(days));
  for (std::int64_t i = 0; i < days; ++i)
    d.daily_stats[static_cast<std::size_t>(i)].date = format_timestamp(from_millis((first + i) * kDayMs)).substr(0, 10);
  for (const auto& a : s.days) {
    const std::int64_t i = a.day - first;
    if (i < 0 || i >= days) continue;
    d.daily_stats[static_cast<std::size_t>(i)].conversations = a.conversations;
    d.daily_stats[static_cast<std::size_t>(i)].messages = a.messages;
  }
  d.total_activity_periods = s.activity_periods;
  if (s.activity_periods > 0)
    d.average_activity_period_minutes =
        std::round(static_cast<double>(s.activity_period_ms) / (600.0 * static_cast<double>(s.activity_periods))) /
        100.0;
  return d;
}

ActivitySummaryQuery dashboard_summary_query(const std::string& user_id, std::int64_t days, Timestamp now,
                                             std::chrono::milliseconds gap) {
  ActivitySummaryQuery q;
  q.scope.user_id = user_id;
  q.scope.kind = ConversationKind::kSupport;
  q.last_day = day_of(now);
  q.first_day = q.last_day - (days - 1);
  q.gap = gap;
  return q;
}

GlobalAnalytics global_analytics_of(const ActivityTotals& t) {
  GlobalAnalytics g;
  g.total_conversations = t.conversations;
  g.total_messages = t.messages;
  g.users = t.owners;
  if (t.owners > 0)
    g.average_conversations_per_user =
        std::round(static_cast<double>(t.owned_conversations) / static_cast<double>(t.owners) * 100.0) / 100.0;
  for (const auto& a : t.agents) {
    AgentPerformance p;
    p.agent_id = a.agent_id;
    p.name = a.name;
    p.total_conversations = a.conversations;
    p.replies = a.replies;
    p.failed_replies = a.failed_replies;
    if (a.replies > 0)
      p.success_rate =
          std::round(1000.0 * static_cast<double>(a.replies - a.failed_replies) / static_cast<double>(a.replies)) /
          10.0;
    g.top_performing_agents.push_back(std::move(p));
  }
  std::stable_sort(g.top_performing_agents.begin(), g.top_performing_agents.end(),
                   [](const AgentPerformance& x, const AgentPerformance& y) {
                     if (x.total_conversations != y.total_conversations)
                       return x.total_conversations > y.total_conversations;
                     if (x.replies != y.replies) return x.replies > y.replies;
                     return x.agent_id < y.agent_id;
                   });
  if (g.top_performing_agents.size() > 10) g.top_performing_agents.resize(10);
  return g;
}

}  // namespace chat::detail
