// Seed 000: the quote chat of a job, /api/jobs/<job_id>/quote-chat/ (bearer
// token required). docs/seed-000.md has the walk-through and the choices.
//
// A job's quote chat is the one Conversation of kind `quote` about the job
// (ConversationKey::of_subject: created on first use, race-free, in the
// service). Jobs are a shared workspace object, so every authenticated user
// may read and write any job's quote chat. The seed's `message_id` is the
// message's client_id: unique among the live messages of the chat, the
// idempotency key of a post, and free again after a clear.
//
// Errors keep chatd's one shape and add the seed's detailed code at the top:
//   {"success": false, "code": "JOB_NOT_FOUND",
//    "error": {"code": "not_found", "message": "job not found"}, "message": "job not found"}
// Codes: JOB_NOT_FOUND, MESSAGE_NOT_FOUND (404), DUPLICATE_MESSAGE_ID (400:
// a message_id reused for a different message), VALIDATION_ERROR (other 400s),
// and the lower-case error.code upper-cased for anything else (INTERNAL, ...).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {
namespace {

using nlohmann::json;
constexpr auto kQuote = chat::ConversationKind::kQuote;

chat::ConversationKey quote_chat(const PathParams& p) {
  return chat::ConversationKey::of_subject(std::string(p.get("job_id")), kQuote);
}

// kNotFound naming the field "subject" is the service's "no such job"; any
// other kNotFound on these routes is the message.
bool is_unknown_job(const chat::Error& e) { return e.code == chat::ErrorCode::kNotFound && e.field == "subject"; }

void render_quote_error(httplib::Response& res, chat::Error e, const char* not_found_code = "MESSAGE_NOT_FOUND") {
  std::string code;
  if (is_unknown_job(e)) {
    e = chat::Error::not_found("job not found");
    code = "JOB_NOT_FOUND";
  } else if (e.code == chat::ErrorCode::kNotFound) {
    code = not_found_code;
    e = chat::Error::not_found(code == "MESSAGE_NOT_FOUND" ? "message not found" : "job not found");
  } else if (e.code == chat::ErrorCode::kConflict && e.field == "client_id") {
    // The seed answers a reused message_id with 400, not 409.
    e = chat::Error::invalid("message_id", "message_id: already used by a different message in this chat");
    code = "DUPLICATE_MESSAGE_ID";
  } else if (e.code == chat::ErrorCode::kInvalidArgument) {
    if (e.field == "client_id") {
      e.field = "message_id";
      if (e.message.rfind("client_id", 0) == 0) e.message = "message_id" + e.message.substr(9);
    }
    code = "VALIDATION_ERROR";
  } else {
    code = std::string(chat::to_string(e.code));
    std::transform(code.begin(), code.end(), code.begin(), [](unsigned char ch) { return std::toupper(ch); });
  }
  render_error(res, e);  // status, headers and the shared body...
  json body = json::parse(res.body, nullptr, false);
  if (!body.is_object()) return;
  body["code"] = code;  // ...plus the seed's detailed code
  render_json(res, res.status, body);
}

json message_json(const chat::Message& m, bool with_updated_at) {
  json out = {{"message_id", m.client_id},
              {"role", chat::to_string(m.role)},
              {"content", m.content},
              {"timestamp", chat::format_timestamp(m.created_at)},
              {"metadata", json_from_text(m.metadata)}};
  if (with_updated_at) out["updated_at"] = chat::format_timestamp(m.updated_at);
  return out;
}

// role: the seed's two, "user" or "assistant".
chat::Result<chat::Role> parse_quote_role(const std::string& text) {
  auto r = chat::parse_role(text);
  if (!r || (*r != chat::Role::kUser && *r != chat::Role::kAssistant))
    return chat::Error::invalid("role", "role: must be user or assistant");
  return *r;
}

}  // namespace

void register_seed000_routes(Router& router, const RouteContext& ctx) {
  const std::string base = "/api/jobs/{job_id}/quote-chat/";

  router.get(base, [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    chat::MessageQuery q;
    q.limit = ctx.service.limits().max_page;
    auto page = ctx.service.list_messages(*who, quote_chat(p), q);
    if (!page) return render_quote_error(res, page.error(), "JOB_NOT_FOUND");
    json messages = json::array();
    for (const auto& m : page->items) messages.push_back(message_json(m, false));
    render_json(res, 200,
                {{"success", true}, {"data", {{"job_id", std::string(p.get("job_id"))}, {"messages", messages}}}});
  });

  router.post(base, [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_quote_error(res, body.error());
    auto message_id = required_nonempty_string(*body, "message_id");
    if (!message_id) return render_quote_error(res, message_id.error());
    auto role_text = required_string(*body, "role");
    if (!role_text) return render_quote_error(res, role_text.error());
    auto role = parse_quote_role(*role_text);
    if (!role) return render_quote_error(res, role.error());
    auto content = required_nonempty_string(*body, "content");
    if (!content) return render_quote_error(res, content.error());
    auto metadata = optional_object(*body, "metadata");
    if (!metadata) return render_quote_error(res, metadata.error());
    chat::NewMessage m;
    m.client_id = std::move(*message_id);
    m.role = *role;
    m.content = std::move(*content);
    if (*metadata) m.metadata = **metadata;
    auto posted = ctx.service.post_message(*who, quote_chat(p), std::move(m));
    if (!posted) return render_quote_error(res, posted.error(), "JOB_NOT_FOUND");
    // A replay answers exactly what the first post answered.
    render_json(res, 201,
                {{"success", true},
                 {"data",
                  {{"message_id", posted->message.client_id},
                   {"timestamp", chat::format_timestamp(posted->message.created_at)}}}});
  });

  router.del(base, [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto n = ctx.service.clear_conversation(*who, quote_chat(p));
    if (!n) return render_quote_error(res, n.error(), "JOB_NOT_FOUND");
    render_json(res, 200, {{"success", true}, {"data", {{"deleted_count", *n}}}});
  });

  // Partial update. metadata, when given, replaces the stored object (the
  // original's JSONField does the same): a streaming UI sends the whole state
  // object each time. The message keeps its id, timestamp and place.
  router.patch(base + "{message_id}/",
               [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
                 auto who = ctx.authenticate_required(req, res);
                 if (!who) return;
                 auto body = parse_json_object(req);
                 if (!body) return render_quote_error(res, body.error());
                 chat::MessagePatch patch;
                 auto content = optional_string(*body, "content");
                 if (!content) return render_quote_error(res, content.error());
                 if (*content) {
                   if (content->value().empty())
                     return render_quote_error(res, chat::Error::invalid("content", "content: must not be empty"));
                   patch.content = **content;
                 }
                 auto metadata = optional_object(*body, "metadata");
                 if (!metadata) return render_quote_error(res, metadata.error());
                 patch.metadata = *metadata;
                 auto key = chat::MessageKey::of_client_id(quote_chat(p), std::string(p.get("message_id")));
                 auto m = ctx.service.edit_message(*who, key, patch);
                 if (!m) return render_quote_error(res, m.error());
                 render_json(res, 200, {{"success", true}, {"data", message_json(*m, true)}});
               });
}

}  // namespace chatd
