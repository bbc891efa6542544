#include "store/sqlite/activity.hpp"

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

Result<ActivityLog> Activity::log(const ActivityQuery& q) {
  return db_.guarded<ActivityLog>([&]() -> Result<ActivityLog> {
    std::string where = " WHERE c.deleted_at IS NULL";
    std::vector<Param> params;
    if (q.conversation_id) {
      where += " AND c.id = ?";
      params.emplace_back(*q.conversation_id);
    }
    if (q.user_id) {
      where += " AND c.user_id = ?";
      params.emplace_back(*q.user_id);
    }
    if (q.kind) {
      where += " AND c.kind = ?";
      params.emplace_back(std::string(to_string(*q.kind)));
    }
    const std::string conv_sql =
        "SELECT c.id, c.user_id, c.agent_id, c.created_at FROM conversations c" + where + " ORDER BY c.id";
    const std::string msg_sql =
        "SELECT m.id, m.conversation_id, m.role, m.status, m.created_at FROM conversations c "
        "JOIN messages m ON m.conversation_id = c.id AND m.deleted_at IS NULL" +
        where + " ORDER BY m.conversation_id, m.id";
    return db_.read_heavy<ActivityLog>([&](Conn& r) -> Result<ActivityLog> {
      ActivityLog out;
      auto cs = r.prepare(conv_sql);
      bind_all(*cs, params);
      while (cs->executeStep()) {
        ConversationActivity a;
        a.id = cs->getColumn(0).getInt64();
        a.user_id = cs->getColumn(1).getString();
        if (!cs->getColumn(2).isNull()) a.agent_id = cs->getColumn(2).getInt64();
        a.created_at = from_millis(cs->getColumn(3).getInt64());
        out.conversations.push_back(std::move(a));
      }
      auto ms = r.prepare(msg_sql);
      bind_all(*ms, params);
      while (ms->executeStep()) {
        MessageActivity m;
        m.id = ms->getColumn(0).getInt64();
        m.conversation_id = ms->getColumn(1).getInt64();
        m.role = parse_role(ms->getColumn(2).getString()).value_or(Role::kUser);
        m.status = parse_message_status(ms->getColumn(3).getString()).value_or(MessageStatus::kSent);
        m.created_at = from_millis(ms->getColumn(4).getInt64());
        out.messages.push_back(m);
      }
      return out;
    });
  });
}

Result<ActivityTotals> Activity::totals(std::optional<ConversationKind> kind) {
  return db_.guarded<ActivityTotals>([&]() -> Result<ActivityTotals> {
    std::string where = " WHERE c.deleted_at IS NULL";
    std::vector<Param> params;
    if (kind) {
      where += " AND c.kind = ?";
      params.emplace_back(std::string(to_string(*kind)));
    }
    const std::string conv_sql =
        "SELECT COUNT(*), COALESCE(SUM(c.user_id <> ''), 0), COUNT(DISTINCT NULLIF(c.user_id, '')) "
        "FROM conversations c" +
        where;
    // The per-conversation sums of schema step 7 (exact at every commit):
    // O(conversations), whatever the number of messages.
    const std::string msg_sql =
        "SELECT COALESCE(SUM(c.activity_messages), 0) FROM conversations c" +
        where;
    const std::string agent_sql =
        "SELECT c.agent_id, COALESCE(a.name, ''), COUNT(*), COALESCE(SUM(c.activity_assistant), 0), "
        "COALESCE(SUM(c.activity_failed), 0) "
        "FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id" +
        where + " AND c.agent_id IS NOT NULL GROUP BY c.agent_id ORDER BY c.agent_id";
    // The three statements are held at once (cs, ms, as): the statement
    // cache never evicts one in use.
    return db_.read_heavy<ActivityTotals>([&](Conn& r) -> Result<ActivityTotals> {
      ActivityTotals out;
      auto cs = r.prepare(conv_sql);
      bind_all(*cs, params);
      if (cs->executeStep()) {
        out.conversations = cs->getColumn(0).getInt64();
        out.owned_conversations = cs->getColumn(1).getInt64();
        out.owners = cs->getColumn(2).getInt64();
      }
      auto ms = r.prepare(msg_sql);
      bind_all(*ms, params);
      if (ms->executeStep()) out.messages = ms->getColumn(0).getInt64();
      auto as = r.prepare(agent_sql);
      bind_all(*as, params);
      while (as->executeStep()) {
        AgentTotals t;
        t.agent_id = as->getColumn(0).getInt64();
        t.name = as->getColumn(1).getString();
        t.conversations = as->getColumn(2).getInt64();
        t.replies = as->getColumn(3).getInt64();
        t.failed_replies = as->getColumn(4).getInt64();
        out.agents.push_back(std::move(t));
      }
      return out;
    });
  });
}

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
// Links longer than this are kept in activity_gaps (schema step 7).
constexpr std::int64_t kKeptGapMs = 60'000;

// " WHERE ..." over conversations c: live, and the owner and kind of `q`.
std::string scope_where(const ActivityQuery& q, std::vector<Param>& params) {
  std::string where = " WHERE c.deleted_at IS NULL";
  if (q.user_id) {
    where += " AND c.user_id = ?";
    params.emplace_back(*q.user_id);
  }
  if (q.kind) {
    where += " AND c.kind = ?";
    params.emplace_back(std::string(to_string(*q.kind)));
  }
  return where;
}

std::vector<Param> join(std::vector<Param> a, const std::vector<Param>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

Result<ActivitySummary> Activity::summary(const ActivitySummaryQuery& q) {
  return db_.guarded<ActivitySummary>([&]() -> Result<ActivitySummary> {
    const std::int64_t span = q.last_day - q.first_day + 1;
    if (span < 0 || span > 366) return Error::invalid("days", "the day window must hold 0..366 days");
    std::vector<Param> scope;
    const std::string where = scope_where(q.scope, scope);
    const std::int64_t gap_ms = q.gap.count();
    const std::string totals_sql =
        "SELECT COUNT(*), COALESCE(SUM(c.activity_messages), 0), COALESCE(SUM(c.activity_replies), 0), "
        "COALESCE(SUM(c.activity_reply_ms), 0), COALESCE(SUM(c.activity_messages > 0), 0), "
        "COALESCE(SUM(c.activity_gap_ms), 0) FROM conversations c" +
        where;
    const std::string agent_sql =
        "SELECT c.agent_id, SUM(c.activity_assistant) AS n FROM conversations c" +
        where + " AND c.agent_id IS NOT NULL GROUP BY c.agent_id HAVING n > 0 ORDER BY n DESC, c.agent_id LIMIT 1";
    const std::string conv_days_sql = "SELECT (c.created_at - ?) / " + std::to_string(kDayMs) +
                                      ", COUNT(*) FROM conversations c" + where +
                                      " AND c.created_at >= ? AND c.created_at < ? GROUP BY 1";
    const std::string msg_days_sql =
        "SELECT d.day, SUM(d.messages) FROM conversations c JOIN activity_days d ON d.conversation_id = c.id "
        "AND d.day BETWEEN ? AND ?" +
        where + " GROUP BY d.day";
    // Links over the gap: from activity_gaps when it holds them all, else
    // by walking the live messages once (a gap under a minute, not the default).
    const std::string gaps_sql =
        gap_ms >= kKeptGapMs
            ? "SELECT COUNT(*), COALESCE(SUM(g.gap_ms), 0) FROM conversations c JOIN activity_gaps g "
              "ON g.conversation_id = c.id AND g.gap_ms > ?" +
                  where
            : "SELECT m.conversation_id, m.created_at FROM conversations c JOIN messages m "
              "ON m.conversation_id = c.id AND m.deleted_at IS NULL" +
                  where + " ORDER BY m.conversation_id, m.id";
    const std::int64_t first_ms = q.first_day * kDayMs;
    const std::int64_t end_ms = (q.last_day + 1) * kDayMs;
    return db_.read_heavy<ActivitySummary>([&](Conn& r) -> Result<ActivitySummary> {
      ActivitySummary out;
      std::int64_t with_messages = 0;
      std::int64_t chain_ms = 0;
      {
        auto s = r.prepare(totals_sql);
        bind_all(*s, scope);
        if (s->executeStep()) {
          out.conversations = s->getColumn(0).getInt64();
          out.messages = s->getColumn(1).getInt64();
          out.reply_pairs = s->getColumn(2).getInt64();
          out.reply_ms = s->getColumn(3).getInt64();
          with_messages = s->getColumn(4).getInt64();
          chain_ms = s->getColumn(5).getInt64();
        }
        s->tryReset();
      }
      {
        auto s = r.prepare(agent_sql);
        bind_all(*s, scope);
        if (s->executeStep()) {
          out.most_active_agent = s->getColumn(0).getInt64();
          out.most_active_agent_messages = s->getColumn(1).getInt64();
        }
        s->tryReset();
      }
      if (span > 0) {
        std::vector<DayActivity> days(static_cast<std::size_t>(span));
        for (std::int64_t i = 0; i < span; ++i) days[static_cast<std::size_t>(i)].day = q.first_day + i;
        {
          auto s = r.prepare(conv_days_sql);
          bind_all(*s, join(join({first_ms}, scope), {first_ms, end_ms}));
          while (s->executeStep()) {
            const std::int64_t i = s->getColumn(0).getInt64();
            if (i >= 0 && i < span) days[static_cast<std::size_t>(i)].conversations = s->getColumn(1).getInt64();
          }
        }
        {
          auto s = r.prepare(msg_days_sql);
          bind_all(*s, join({q.first_day, q.last_day}, scope));
          while (s->executeStep()) {
            const std::int64_t i = s->getColumn(0).getInt64() - q.first_day;
            if (i >= 0 && i < span) days[static_cast<std::size_t>(i)].messages = s->getColumn(1).getInt64();
          }
        }
        for (auto& d : days)
          if (d.conversations != 0 || d.messages != 0) out.days.push_back(d);
      }
      std::int64_t long_links = 0;
      std::int64_t long_ms = 0;
      if (gap_ms >= kKeptGapMs) {
        auto s = r.prepare(gaps_sql);
        bind_all(*s, join({gap_ms}, scope));
        if (s->executeStep()) {
          long_links = s->getColumn(0).getInt64();
          long_ms = s->getColumn(1).getInt64();
        }
        s->tryReset();
      } else {
        auto s = r.prepare(gaps_sql);
        bind_all(*s, scope);
        std::int64_t prev_conv = 0;
        std::int64_t prev_at = 0;
        bool have_prev = false;
        while (s->executeStep()) {
          const std::int64_t conv = s->getColumn(0).getInt64();
          const std::int64_t at = s->getColumn(1).getInt64();
          if (have_prev && conv == prev_conv && at - prev_at > gap_ms) {
            ++long_links;
            long_ms += at - prev_at;
          }
          prev_conv = conv;
          prev_at = at;
          have_prev = true;
        }
      }
      out.activity_periods = with_messages + long_links;
      out.activity_period_ms = chain_ms - long_ms;
      return out;
    });
  });
}

}  // namespace chat::sqlite
