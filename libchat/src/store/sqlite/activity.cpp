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
    return db_.read<ActivityLog>([&](Conn& r) -> Result<ActivityLog> {
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
    const std::string msg_sql =
        "SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id "
        "AND m.deleted_at IS NULL" +
        where;
    const std::string agent_sql =
        "SELECT c.agent_id, COALESCE(a.name, ''), COUNT(*), "
        "COALESCE(SUM((SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL "
        "AND m.role = 'assistant')), 0), "
        "COALESCE(SUM((SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL "
        "AND m.role = 'assistant' AND m.status = 'failed')), 0) "
        "FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id" +
        where + " AND c.agent_id IS NOT NULL GROUP BY c.agent_id ORDER BY c.agent_id";
    // The three statements are held at once (cs, ms, as): the statement
    // cache never evicts one in use.
    return db_.read<ActivityTotals>([&](Conn& r) -> Result<ActivityTotals> {
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

}  // namespace chat::sqlite
