#include "store/postgres/activity.hpp"

#include <string>
#include <utility>
#include <vector>

#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

// " WHERE ..." over conversations c: live, and the owner, kind and
// conversation of `q` (conversation only when `with_id`).
std::string scope_where(const ActivityQuery& q, Params& p, bool with_id) {
  std::string where = " WHERE c.deleted_at IS NULL";
  if (with_id && q.conversation_id) where += " AND c.id = " + arg(p, *q.conversation_id);
  if (q.user_id) where += " AND " + text_equals(p, "c.user_id", *q.user_id);
  if (q.kind) where += " AND c.kind = " + arg(p, std::string(to_string(*q.kind)));
  return where;
}

}  // namespace

Result<ActivityLog> Activity::log(const ActivityQuery& q) {
  return db_.guarded<ActivityLog>([&]() -> Result<ActivityLog> {
    Params p;
    const std::string where = scope_where(q, p, true);
    return db_.read_heavy<ActivityLog>([&](Conn& c) -> Result<ActivityLog> {
      ActivityLog out;
      const Rows cs =
          c.exec("SELECT c.id, c.user_id, c.agent_id, c.created_at FROM conversations c" + where + " ORDER BY c.id", p);
      for (int i = 0; i < cs.size(); ++i) {
        ConversationActivity a;
        a.id = cs.i64(i, 0);
        a.user_id = cs.text(i, 1);
        a.agent_id = cs.opt_i64(i, 2);
        a.created_at = cs.time(i, 3);
        out.conversations.push_back(std::move(a));
      }
      const Rows ms = c.exec(
          "SELECT m.id, m.conversation_id, m.role, m.status, m.created_at FROM conversations c "
          "JOIN messages m ON m.conversation_id = c.id AND m.deleted_at IS NULL" +
              where + " ORDER BY m.conversation_id, m.id",
          p);
      out.messages.reserve(static_cast<std::size_t>(ms.size()));
      for (int i = 0; i < ms.size(); ++i) {
        MessageActivity m;
        m.id = ms.i64(i, 0);
        m.conversation_id = ms.i64(i, 1);
        m.role = parse_role(ms.view(i, 2)).value_or(Role::kUser);
        m.status = parse_message_status(ms.view(i, 3)).value_or(MessageStatus::kSent);
        m.created_at = ms.time(i, 4);
        out.messages.push_back(m);
      }
      return out;
    });
  });
}

Result<ActivityTotals> Activity::totals(std::optional<ConversationKind> kind) {
  return db_.guarded<ActivityTotals>([&]() -> Result<ActivityTotals> {
    ActivityQuery scope;
    scope.kind = kind;
    Params p;
    const std::string where = scope_where(scope, p, false);
    return db_.read_heavy<ActivityTotals>([&](Conn& c) -> Result<ActivityTotals> {
      ActivityTotals out;
      const Rows cs = c.exec(
          "SELECT COUNT(*), COUNT(*) FILTER (WHERE c.user_id <> ''), COUNT(DISTINCT NULLIF(c.user_id, '')) "
          "FROM conversations c" + where,
          p);
      out.conversations = cs.i64(0, 0);
      out.owned_conversations = cs.i64(0, 1);
      out.owners = cs.i64(0, 2);
      out.messages = c.exec("SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id "
                            "AND m.deleted_at IS NULL" + where,
                            p)
                         .i64(0, 0);
      const Rows as = c.exec(
          "SELECT c.agent_id, COALESCE(MAX(a.name), ''), COUNT(*), COALESCE(SUM(x.replies), 0), "
          "COALESCE(SUM(x.failed), 0) FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id "
          "LEFT JOIN LATERAL (SELECT COUNT(*) FILTER (WHERE m.role = 'assistant') AS replies, "
          "COUNT(*) FILTER (WHERE m.role = 'assistant' AND m.status = 'failed') AS failed FROM messages m "
          "WHERE m.conversation_id = c.id AND m.deleted_at IS NULL) x ON TRUE" +
              where + " AND c.agent_id IS NOT NULL GROUP BY c.agent_id ORDER BY c.agent_id",
          p);
      for (int i = 0; i < as.size(); ++i) {
        AgentTotals t;
        t.agent_id = as.i64(i, 0);
        t.name = as.text(i, 1);
        t.conversations = as.i64(i, 2);
        t.replies = as.i64(i, 3);
        t.failed_replies = as.i64(i, 4);
        out.agents.push_back(std::move(t));
      }
      return out;
    });
  });
}

// The figures of chat/store.hpp's ActivitySummary, from the live chain of
// each conversation (its live messages in id order) by window functions.
Result<ActivitySummary> Activity::summary(const ActivitySummaryQuery& q) {
  return db_.guarded<ActivitySummary>([&]() -> Result<ActivitySummary> {
    const std::int64_t span = q.last_day - q.first_day + 1;
    if (span < 0 || span > 366) return Error::invalid("days", "the day window must hold 0..366 days");
    Params p;
    const std::string where = scope_where(q.scope, p, false);
    const std::int64_t first_ms = q.first_day * kDayMs;
    const std::int64_t end_ms = (q.last_day + 1) * kDayMs;
    Params pg = p;
    const std::string gap = arg(pg, static_cast<std::int64_t>(q.gap.count()));
    const std::string totals_sql =
        "WITH s AS (SELECT c.id FROM conversations c" + where +
        "), ms AS (SELECT m.conversation_id AS cid, m.created_at - LAG(m.created_at) OVER "
        "(PARTITION BY m.conversation_id ORDER BY m.id) AS gap FROM messages m JOIN s ON s.id = m.conversation_id "
        "WHERE m.deleted_at IS NULL), "
        "ns AS (SELECT m.role, m.created_at - LAG(m.created_at) OVER w AS gap, LAG(m.role) OVER w AS prev_role "
        "FROM messages m JOIN s ON s.id = m.conversation_id WHERE m.deleted_at IS NULL AND m.role <> 'system' "
        "WINDOW w AS (PARTITION BY m.conversation_id ORDER BY m.id)) "
        "SELECT (SELECT COUNT(*) FROM s), (SELECT COUNT(*) FROM ms), "
        "(SELECT COUNT(*) FROM ns WHERE prev_role = 'user' AND role IN ('assistant', 'agent')), "
        "(SELECT COALESCE(SUM(gap), 0) FROM ns WHERE prev_role = 'user' AND role IN ('assistant', 'agent')), "
        "(SELECT COUNT(DISTINCT cid) FROM ms), (SELECT COALESCE(SUM(gap), 0) FROM ms), "
        "(SELECT COUNT(*) FROM ms WHERE gap > " + gap + "), (SELECT COALESCE(SUM(gap), 0) FROM ms WHERE gap > " +
        gap + ")";
    const std::string agent_sql =
        "SELECT c.agent_id, COUNT(*) AS n FROM conversations c JOIN messages m ON m.conversation_id = c.id "
        "AND m.deleted_at IS NULL AND m.role = 'assistant'" +
        where + " AND c.agent_id IS NOT NULL GROUP BY c.agent_id ORDER BY n DESC, c.agent_id LIMIT 1";
    Params pd = p;
    const std::string first = arg(pd, first_ms);
    const std::string end = arg(pd, end_ms);
    const std::string conv_days_sql = "SELECT (c.created_at - " + first + ") / " + std::to_string(kDayMs) +
                                      ", COUNT(*) FROM conversations c" + where + " AND c.created_at >= " + first +
                                      " AND c.created_at < " + end + " GROUP BY 1";
    const std::string msg_days_sql = "SELECT (m.created_at - " + first + ") / " + std::to_string(kDayMs) +
                                     ", COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id "
                                     "AND m.deleted_at IS NULL" +
                                     where + " AND m.created_at >= " + first + " AND m.created_at < " + end +
                                     " GROUP BY 1";
    return db_.read_heavy<ActivitySummary>([&](Conn& c) -> Result<ActivitySummary> {
      ActivitySummary out;
      const Rows t = c.exec(totals_sql, pg);
      out.conversations = t.i64(0, 0);
      out.messages = t.i64(0, 1);
      out.reply_pairs = t.i64(0, 2);
      out.reply_ms = t.i64(0, 3);
      const std::int64_t with_messages = t.i64(0, 4);
      const std::int64_t chain_ms = t.i64(0, 5);
      const std::int64_t long_links = t.i64(0, 6);
      const std::int64_t long_ms = t.i64(0, 7);
      const Rows a = c.exec(agent_sql, p);
      if (!a.empty()) {
        out.most_active_agent = a.i64(0, 0);
        out.most_active_agent_messages = a.i64(0, 1);
      }
      if (span > 0) {
        std::vector<DayActivity> days(static_cast<std::size_t>(span));
        for (std::int64_t i = 0; i < span; ++i) days[static_cast<std::size_t>(i)].day = q.first_day + i;
        const Rows cd = c.exec(conv_days_sql, pd);
        for (int i = 0; i < cd.size(); ++i) {
          const std::int64_t d = cd.i64(i, 0);
          if (d >= 0 && d < span) days[static_cast<std::size_t>(d)].conversations = cd.i64(i, 1);
        }
        const Rows md = c.exec(msg_days_sql, pd);
        for (int i = 0; i < md.size(); ++i) {
          const std::int64_t d = md.i64(i, 0);
          if (d >= 0 && d < span) days[static_cast<std::size_t>(d)].messages = md.i64(i, 1);
        }
        for (auto& d : days)
          if (d.conversations != 0 || d.messages != 0) out.days.push_back(d);
      }
      out.activity_periods = with_messages + long_links;
      out.activity_period_ms = chain_ms - long_ms;
      return out;
    });
  });
}

}  // namespace chat::pg
