#include "store/sqlite/rows.hpp"

#include <utility>

#include "json_text.hpp"
#include "store/sqlite/paging.hpp"

namespace chat::sqlite {

namespace {

std::optional<std::int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}
std::optional<double> opt_double(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getDouble();
}
std::optional<Timestamp> opt_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return from_millis(c.getInt64());
}

}  // namespace

// ---- binding ------------------------------------------------------------------

void bind_all(SQLite::Statement& s, const std::vector<Param>& params, int first) {
  int i = first;
  for (const auto& p : params) {
    if (const auto* n = std::get_if<std::int64_t>(&p))
      s.bind(i++, *n);
    else
      s.bind(i++, std::get<std::string>(p));
  }
}

void bind_opt(SQLite::Statement& s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    s.bind(i, *v);
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<double>& v) {
  if (v)
    s.bind(i, *v);
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<Timestamp>& v) {
  if (v)
    s.bind(i, to_millis(*v));
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<std::string>& v) {
  if (v)
    s.bind(i, *v);
  else
    s.bind(i);
}
void bind_opt(SQLite::Statement& s, int i, const std::optional<bool>& v) {
  if (v)
    s.bind(i, *v ? 1 : 0);
  else
    s.bind(i);
}

void bind_text_or_null(SQLite::Statement& s, int i, const std::string& v) {
  if (v.empty())
    s.bind(i);
  else
    s.bind(i, v);
}


// ---- rows -> domain types -------------------------------------------------------

Conversation read_conversation(const SQLite::Statement& s) {
  Conversation c;
  c.id = s.getColumn(0).getInt64();
  c.uuid = s.getColumn(1).getString();
  c.handle = s.getColumn(2).getString();
  c.kind = parse_conversation_kind(s.getColumn(3).getString()).value_or(ConversationKind::kSupport);
  c.type = s.getColumn(4).getString();
  c.user_id = s.getColumn(5).getString();
  c.external_user_id = s.getColumn(6).getString();
  c.name = s.getColumn(7).getString();
  c.email = s.getColumn(8).getString();
  c.agent_id = opt_int(s.getColumn(9));
  c.subject = s.getColumn(10).getString();
  c.title = s.getColumn(11).getString();
  c.status = s.getColumn(12).getString();
  c.is_archived = s.getColumn(13).getInt64() != 0;
  c.is_pinned = s.getColumn(14).getInt64() != 0;
  c.is_active = s.getColumn(15).getInt64() != 0;
  c.expires_at = opt_time(s.getColumn(16));
  c.metadata = s.getColumn(17).getString();
  c.initial_context = s.getColumn(18).getString();
  c.total_messages = s.getColumn(19).getInt64();
  c.unread_count = s.getColumn(20).getInt64();
  c.total_tokens = s.getColumn(21).getInt64();
  c.last_read_message_id = s.getColumn(22).getInt64();
  c.last_message_at = opt_time(s.getColumn(23));
  c.created_at = from_millis(s.getColumn(24).getInt64());
  c.updated_at = from_millis(s.getColumn(25).getInt64());
  c.deleted_at = opt_time(s.getColumn(26));
  return c;
}

Message read_message(const SQLite::Statement& s, std::int64_t& attachment_count) {
  Message m;
  m.id = s.getColumn(0).getInt64();
  m.uuid = s.getColumn(1).getString();
  m.conversation_id = s.getColumn(2).getInt64();
  m.client_id = s.getColumn(3).getString();
  m.role = parse_role(s.getColumn(4).getString()).value_or(Role::kUser);
  m.content = s.getColumn(5).getString();
  m.content_type = s.getColumn(6).getString();
  m.message_type = s.getColumn(7).getString();
  m.status = parse_message_status(s.getColumn(8).getString()).value_or(MessageStatus::kSent);
  m.metadata = s.getColumn(9).getString();
  m.tokens_used = opt_int(s.getColumn(10));
  m.processing_time = opt_double(s.getColumn(11));
  m.cost = opt_double(s.getColumn(12));
  m.created_at = from_millis(s.getColumn(13).getInt64());
  m.updated_at = from_millis(s.getColumn(14).getInt64());
  m.deleted_at = opt_time(s.getColumn(15));
  attachment_count = s.getColumn(16).getInt64();
  return m;
}

Agent read_agent(const SQLite::Statement& s) {
  Agent a;
  a.id = s.getColumn(0).getInt64();
  a.name = s.getColumn(1).getString();
  a.system_prompt = s.getColumn(2).getString();
  a.model = s.getColumn(3).getString();
  a.created_at = from_millis(s.getColumn(4).getInt64());
  a.updated_at = from_millis(s.getColumn(5).getInt64());
  return a;
}

Subject read_subject(const SQLite::Statement& s) {
  Subject j;
  j.id = s.getColumn(0).getString();
  j.title = s.getColumn(1).getString();
  j.description = s.getColumn(2).getString();
  j.created_by = s.getColumn(3).getString();
  j.created_at = from_millis(s.getColumn(4).getInt64());
  j.updated_at = from_millis(s.getColumn(5).getInt64());
  return j;
}

Profile read_profile(const SQLite::Statement& s) {
  Profile p;
  p.user_id = s.getColumn(0).getString();
  p.work_history = s.getColumn(1).getString();
  p.education = s.getColumn(2).getString();
  p.projects = s.getColumn(3).getString();
  p.skills = s.getColumn(4).getString();
  p.updated_at = from_millis(s.getColumn(5).getInt64());
  return p;
}

AuditEntry read_audit_entry(const SQLite::Statement& s) {
  AuditEntry e;
  e.id = s.getColumn(0).getInt64();
  e.at = from_millis(s.getColumn(1).getInt64());
  e.actor = s.getColumn(2).getString();
  e.action = s.getColumn(3).getString();
  e.target_type = s.getColumn(4).getString();
  e.target_id = s.getColumn(5).getInt64();
  e.conversation_id = s.getColumn(6).getInt64();
  e.detail = s.getColumn(7).getString();
  return e;
}

void load_attachments(Conn& c, Message& m) {
  auto s = c.prepare_static(
      "SELECT id, message_id, file_name, file_type, file_size, file_path, created_at "
      "FROM message_attachments WHERE message_id = ? ORDER BY id");
  s->bind(1, m.id);
  m.attachments.clear();
  while (s->executeStep()) {
    Attachment a;
    a.id = s->getColumn(0).getInt64();
    a.message_id = s->getColumn(1).getInt64();
    a.file_name = s->getColumn(2).getString();
    a.file_type = s->getColumn(3).getString();
    a.file_size = s->getColumn(4).getInt64();
    a.file_path = s->getColumn(5).getString();
    a.created_at = from_millis(s->getColumn(6).getInt64());
    m.attachments.push_back(std::move(a));
  }
}

std::vector<Message> collect_messages(Conn& c, Stmt& s, std::vector<double>* extra, std::int64_t* window_total,
                                      PageBytes* bytes) {
  std::vector<Message> out;
  std::vector<std::size_t> with_attachments;
  while (s->executeStep()) {
    std::int64_t n = 0;
    Message m = read_message(*s, n);
    // Attachments load below: the budget counts the message's own text.
    if (bytes && !bytes->admit(stored_bytes(m))) break;
    out.push_back(std::move(m));
    if (n > 0) with_attachments.push_back(out.size() - 1);
    if (extra) extra->push_back(s->getColumn(kMsgColCount).getDouble());
    if (window_total) *window_total = s->getColumn(kMsgColCount + 1).getInt64();
  }
  s->tryReset();
  for (auto i : with_attachments) load_attachments(c, out[i]);
  return out;
}

}  // namespace chat::sqlite
