#include "store/event_snapshot.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "utf8.hpp"

namespace chat::detail {

namespace {

// Appends JSON by hand: a snapshot is written on every append (the hot
// path), where building a JSON tree first would cost more than the insert.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(std::size_t reserve) {
    out_.reserve(reserve);
    out_ += '{';
  }

  void text(std::string_view k, std::string_view v) {
    key(k);
    if (is_valid_utf8(v)) {
      escaped(v);
    } else {
      escaped(sanitize_utf8(v));
    }
  }
  void integer(std::string_view k, std::int64_t v) {
    key(k);
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  void time(std::string_view k, Timestamp t) { integer(k, to_millis(t)); }
  void boolean(std::string_view k, bool v) {
    key(k);
    out_ += v ? "true" : "false";
  }
  void optional(std::string_view k, const std::optional<std::int64_t>& v) {
    if (v) integer(k, *v);
  }
  void optional(std::string_view k, const std::optional<Timestamp>& v) {
    if (v) time(k, *v);
  }
  // JSON has no NaN or infinity: such a value is left out, as if absent.
  void optional(std::string_view k, const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return;
    key(k);
    fmt::format_to(std::back_inserter(out_), "{}", *v);  // shortest text that reads back the same double
  }
  // Opens an array of objects under `k`; object() / close() inside.
  void open_array(std::string_view k) {
    key(k);
    out_ += '[';
    first_ = true;
  }
  void open_object() {
    if (!first_) out_ += ',';
    out_ += '{';
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }
  std::string finish() && {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;  // keys are literals of this file: nothing to escape
    out_ += "\":";
  }
  void escaped(std::string_view s) {
    out_ += '"';
    std::size_t plain = 0;  // start of the run not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto ch = static_cast<unsigned char>(s[i]);
      if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
      out_.append(s.data() + plain, i - plain);
      plain = i + 1;
      switch (ch) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: fmt::format_to(std::back_inserter(out_), "\\u{:04x}", ch);
      }
    }
    out_.append(s.data() + plain, s.size() - plain);
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

using Json = nlohmann::json;

std::string text_of(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::int64_t> integer_of(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

std::optional<Timestamp> time_of(const Json& j, const char* k) {
  auto v = integer_of(j, k);
  return v ? std::optional<Timestamp>(from_millis(*v)) : std::nullopt;
}

std::optional<double> real_of(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool bool_of(const Json& j, const char* k, bool fallback) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

Result<Json> parse_object(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error::internal("a change log event is unreadable");
  return j;
}

void identity(SnapshotWriter& w, const Message& m) {
  w.integer("id", m.id);
  w.text("uuid", m.uuid);
  w.integer("conversation_id", m.conversation_id);
  w.text("client_id", m.client_id);
  w.text("role", to_string(m.role));
}

}  // namespace

std::string message_snapshot(const Message& m, bool redacted) {
  SnapshotWriter w(redacted ? 256 : 320 + m.content.size() + m.metadata.size());
  identity(w, m);
  if (!redacted) {
    w.text("content", m.content);
    w.text("content_type", m.content_type);
    w.text("message_type", m.message_type);
    w.text("status", to_string(m.status));
    w.text("metadata", m.metadata);
    w.optional("tokens_used", m.tokens_used);
    w.optional("processing_time", m.processing_time);
    w.optional("cost", m.cost);
  }
  w.time("created_at", m.created_at);
  w.time("updated_at", m.updated_at);
  w.optional("deleted_at", m.deleted_at);
  if (!redacted && !m.attachments.empty()) {
    w.open_array("attachments");
    for (const auto& a : m.attachments) {
      w.open_object();
      w.integer("id", a.id);
      w.integer("message_id", a.message_id);
      w.text("file_name", a.file_name);
      w.text("file_type", a.file_type);
      w.integer("file_size", a.file_size);
      w.text("file_path", a.file_path);
      w.time("created_at", a.created_at);
      w.close('}');
    }
    w.close(']');
  }
  return std::move(w).finish();
}

std::string conversation_snapshot(const Conversation& c) {
  SnapshotWriter w(512 + c.title.size() + c.metadata.size() + c.initial_context.size());
  w.integer("id", c.id);
  w.text("uuid", c.uuid);
  w.text("handle", c.handle);
  w.text("kind", to_string(c.kind));
  w.text("type", c.type);
  w.text("user_id", c.user_id);
  w.text("external_user_id", c.external_user_id);
  w.text("name", c.name);
  w.text("email", c.email);
  w.optional("agent_id", c.agent_id);
  w.text("subject", c.subject);
  w.text("title", c.title);
  w.text("status", c.status);
  w.boolean("is_archived", c.is_archived);
  w.boolean("is_pinned", c.is_pinned);
  w.boolean("is_active", c.is_active);
  w.optional("expires_at", c.expires_at);
  w.text("metadata", c.metadata);
  w.text("initial_context", c.initial_context);
  w.integer("total_messages", c.total_messages);
  w.integer("unread_count", c.unread_count);
  w.integer("total_tokens", c.total_tokens);
  w.integer("last_read_message_id", c.last_read_message_id);
  w.optional("last_message_at", c.last_message_at);
  w.time("created_at", c.created_at);
  w.time("updated_at", c.updated_at);
  w.optional("deleted_at", c.deleted_at);
  return std::move(w).finish();
}

Result<Message> parse_message_snapshot(std::string_view text) {
  CHAT_ASSIGN_OR_RETURN(const Json j, parse_object(text));
  Message m;
  m.id = integer_of(j, "id").value_or(0);
  m.uuid = text_of(j, "uuid");
  m.conversation_id = integer_of(j, "conversation_id").value_or(0);
  m.client_id = text_of(j, "client_id");
  m.role = parse_role(text_of(j, "role")).value_or(Role::kUser);
  m.content = text_of(j, "content");
  if (j.contains("content_type")) m.content_type = text_of(j, "content_type");
  if (j.contains("message_type")) m.message_type = text_of(j, "message_type");
  m.status = parse_message_status(text_of(j, "status")).value_or(MessageStatus::kSent);
  if (j.contains("metadata")) m.metadata = text_of(j, "metadata");
  m.tokens_used = integer_of(j, "tokens_used");
  m.processing_time = real_of(j, "processing_time");
  m.cost = real_of(j, "cost");
  m.created_at = time_of(j, "created_at").value_or(Timestamp{});
  m.updated_at = time_of(j, "updated_at").value_or(Timestamp{});
  m.deleted_at = time_of(j, "deleted_at");
  if (auto it = j.find("attachments"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      Attachment a;
      a.id = integer_of(e, "id").value_or(0);
      a.message_id = integer_of(e, "message_id").value_or(m.id);
      a.file_name = text_of(e, "file_name");
      a.file_type = text_of(e, "file_type");
      a.file_size = integer_of(e, "file_size").value_or(0);
      a.file_path = text_of(e, "file_path");
      a.created_at = time_of(e, "created_at").value_or(Timestamp{});
      m.attachments.push_back(std::move(a));
    }
  }
  return m;
}

Result<Conversation> parse_conversation_snapshot(std::string_view text) {
  CHAT_ASSIGN_OR_RETURN(const Json j, parse_object(text));
  Conversation c;
  c.id = integer_of(j, "id").value_or(0);
  c.uuid = text_of(j, "uuid");
  c.handle = text_of(j, "handle");
  c.kind = parse_conversation_kind(text_of(j, "kind")).value_or(ConversationKind::kSupport);
  c.type = text_of(j, "type");
  c.user_id = text_of(j, "user_id");
  c.external_user_id = text_of(j, "external_user_id");
  c.name = text_of(j, "name");
  c.email = text_of(j, "email");
  c.agent_id = integer_of(j, "agent_id");
  c.subject = text_of(j, "subject");
  c.title = text_of(j, "title");
  c.status = text_of(j, "status");
  c.is_archived = bool_of(j, "is_archived", false);
  c.is_pinned = bool_of(j, "is_pinned", false);
  c.is_active = bool_of(j, "is_active", true);
  c.expires_at = time_of(j, "expires_at");
  c.metadata = text_of(j, "metadata");
  c.initial_context = text_of(j, "initial_context");
  c.total_messages = integer_of(j, "total_messages").value_or(0);
  c.unread_count = integer_of(j, "unread_count").value_or(0);
  c.total_tokens = integer_of(j, "total_tokens").value_or(0);
  c.last_read_message_id = integer_of(j, "last_read_message_id").value_or(0);
  c.last_message_at = time_of(j, "last_message_at");
  c.created_at = time_of(j, "created_at").value_or(Timestamp{});
  c.updated_at = time_of(j, "updated_at").value_or(Timestamp{});
  c.deleted_at = time_of(j, "deleted_at");
  return c;
}

Message redacted_message(const Message& m) {
  Message r;
  r.id = m.id;
  r.uuid = m.uuid;
  r.conversation_id = m.conversation_id;
  r.client_id = m.client_id;
  r.role = m.role;
  r.created_at = m.created_at;
  r.updated_at = m.updated_at;
  r.deleted_at = m.deleted_at;
  return r;
}

}  // namespace chat::detail
