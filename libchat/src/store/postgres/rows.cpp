#include "store/postgres/rows.hpp"

#include <utility>

#include "json_text.hpp"

namespace chat::pg {


std::string text_equals(Params& p, const char* column, const std::string& value) {
  if (never_stored(value)) return "FALSE";
  return std::string(column) + " = " + arg(p, value);
}

Conversation read_conversation(const Rows& r, int i, int f) {
  Conversation c;
  c.id = r.i64(i, f + 0);
  c.uuid = r.text(i, f + 1);
  c.handle = r.text(i, f + 2);
  c.kind = parse_conversation_kind(r.text(i, f + 3)).value_or(ConversationKind::kSupport);
  c.type = r.text(i, f + 4);
  c.user_id = r.text(i, f + 5);
  c.external_user_id = r.text(i, f + 6);
  c.name = r.text(i, f + 7);
  c.email = r.text(i, f + 8);
  c.agent_id = r.opt_i64(i, f + 9);
  c.subject = r.text(i, f + 10);
  c.title = r.text(i, f + 11);
  c.status = r.text(i, f + 12);
  c.is_archived = r.flag(i, f + 13);
  c.is_pinned = r.flag(i, f + 14);
  c.is_active = r.flag(i, f + 15);
  c.expires_at = r.opt_time(i, f + 16);
  c.metadata = r.text(i, f + 17);
  c.initial_context = r.text(i, f + 18);
  c.total_messages = r.i64(i, f + 19);
  c.unread_count = r.i64(i, f + 20);
  c.total_tokens = r.i64(i, f + 21);
  c.last_read_message_id = r.i64(i, f + 22);
  c.last_message_at = r.opt_time(i, f + 23);
  c.created_at = r.time(i, f + 24);
  c.updated_at = r.time(i, f + 25);
  c.deleted_at = r.opt_time(i, f + 26);
  return c;
}

Message read_message(const Rows& r, int i, std::int64_t& attachment_count, int f) {
  Message m;
  m.id = r.i64(i, f + 0);
  m.uuid = r.text(i, f + 1);
  m.conversation_id = r.i64(i, f + 2);
  m.client_id = r.text(i, f + 3);
  m.role = parse_role(r.text(i, f + 4)).value_or(Role::kUser);
  m.content = r.text(i, f + 5);
  m.content_type = r.text(i, f + 6);
  m.message_type = r.text(i, f + 7);
  m.status = parse_message_status(r.text(i, f + 8)).value_or(MessageStatus::kSent);
  m.metadata = r.text(i, f + 9);
  m.tokens_used = r.opt_i64(i, f + 10);
  m.processing_time = r.opt_f64(i, f + 11);
  m.cost = r.opt_f64(i, f + 12);
  m.created_at = r.time(i, f + 13);
  m.updated_at = r.time(i, f + 14);
  m.deleted_at = r.opt_time(i, f + 15);
  attachment_count = r.i64(i, f + 16);
  return m;
}

Agent read_agent(const Rows& r, int i) {
  Agent a;
  a.id = r.i64(i, 0);
  a.name = r.text(i, 1);
  a.system_prompt = r.text(i, 2);
  a.model = r.text(i, 3);
  a.created_at = r.time(i, 4);
  a.updated_at = r.time(i, 5);
  return a;
}

Subject read_subject(const Rows& r, int i) {
  Subject j;
  j.id = r.text(i, 0);
  j.title = r.text(i, 1);
  j.description = r.text(i, 2);
  j.created_by = r.text(i, 3);
  j.created_at = r.time(i, 4);
  j.updated_at = r.time(i, 5);
  return j;
}

Profile read_profile(const Rows& r, int i) {
  Profile p;
  p.user_id = r.text(i, 0);
  p.work_history = r.text(i, 1);
  p.education = r.text(i, 2);
  p.projects = r.text(i, 3);
  p.skills = r.text(i, 4);
  p.updated_at = r.time(i, 5);
  return p;
}

AuditEntry read_audit_entry(const Rows& r, int i) {
  AuditEntry e;
  e.id = r.i64(i, 0);
  e.at = r.time(i, 1);
  e.actor = r.text(i, 2);
  e.action = r.text(i, 3);
  e.target_type = r.text(i, 4);
  e.target_id = r.i64(i, 5);
  e.conversation_id = r.i64(i, 6);
  e.detail = r.text(i, 7);
  return e;
}

void load_attachments(Conn& c, Message& m) {
  const Rows r = c.exec(
      "SELECT id, message_id, file_name, file_type, file_size, file_path, created_at "
      "FROM message_attachments WHERE message_id = $1 ORDER BY id",
      Params().add(m.id));
  m.attachments.clear();
  for (int i = 0; i < r.size(); ++i) {
    Attachment a;
    a.id = r.i64(i, 0);
    a.message_id = r.i64(i, 1);
    a.file_name = r.text(i, 2);
    a.file_type = r.text(i, 3);
    a.file_size = r.i64(i, 4);
    a.file_path = r.text(i, 5);
    a.created_at = r.time(i, 6);
    m.attachments.push_back(std::move(a));
  }
}

std::vector<Message> collect_messages(Conn& c, const Rows& r) {
  std::vector<Message> out;
  std::vector<std::int64_t> counts;
  for (int i = 0; i < r.size(); ++i) {
    std::int64_t n = 0;
    out.push_back(read_message(r, i, n));
    counts.push_back(n);
  }
  load_attachments(c, out, counts);
  return out;
}

void load_attachments(Conn& c, std::vector<Message>& ms, const std::vector<std::int64_t>& counts) {
  for (std::size_t i = 0; i < ms.size() && i < counts.size(); ++i)
    if (counts[i] > 0) load_attachments(c, ms[i]);
}

}  // namespace chat::pg
