#include "service/reports.hpp"

#include "service/access.hpp"
#include "service/analytics.hpp"

namespace chat::detail {

Result<Dashboard> Reports::dashboard(const Principal& who, const DashboardQuery& q) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  if (q.days < 1 || q.days > 366) return Error::invalid("days", "days must be an integer between 1 and 366");
  // Sums kept on write (issue 11): bounded memory and O(conversations) time.
  const Timestamp now = core_.now();
  CHAT_ASSIGN_OR_RETURN(auto summary, core_.store->activity_summary(
                                          dashboard_summary_query(who.user_id, q.days, now, core_.options.activity_gap)));
  Dashboard d = dashboard_from(summary, q.days, now);
  if (d.most_active_agent) {
    // A persona removed since keeps its figures under an empty name.
    if (auto a = core_.store->get_agent(d.most_active_agent->agent_id)) d.most_active_agent->name = a->name;
  }
  return d;
}

Result<GlobalAnalytics> Reports::global(const Principal& who) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  CHAT_RETURN_IF_ERROR(require_admin(who));
  CHAT_ASSIGN_OR_RETURN(auto totals, core_.store->activity_totals(ConversationKind::kSupport));
  return global_analytics_of(totals);
}

Result<std::vector<ActivityPeriod>> Reports::activity_periods(const Principal& who, const ConversationKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  ActivityQuery aq;
  aq.conversation_id = c.id;
  CHAT_ASSIGN_OR_RETURN(auto log, core_.store->activity(aq));
  return activity_periods_of(log.messages, core_.options.activity_gap);
}

}  // namespace chat::detail
