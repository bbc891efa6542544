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
// Authentication errors (401) carry no seed code.
//
// Lists: GET .../quote-chat/?limit&offset answers the history chronologically,
// limit 1..1000 (ServiceOptions::max_page), default 1000 (an ordinary chat in
// one answer, as the front end expects); the next page is offset + messages
// received: a page ends early at the byte budget (ServiceOptions::max_page_bytes),
// so the end is an empty page. The body keeps the seed's shape.
//
// Event stream (issue 14, event_stream_route.hpp): GET .../quote-chat/events
// (data: a message as PATCH answers it, with updated_at; conversation events:
// {"job_id", "total_messages", "updated_at"}), POST .../events/typing,
// POST .../events/ticket (EventSource cannot send the bearer token).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "endpoint.hpp"
#include "event_stream_route.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"
#include "routes/seed000_requests.hpp"
#include "routes/shapes.hpp"

namespace chatd {
namespace {

using nlohmann::json;

// ---- errors: the seed's words and detailed codes

// kNotFound naming the field "subject" is the service's "no such job"; any
// other kNotFound is the route's thing: the job on the chat routes, the
// message on the message route.
std::string quote_code(chat::Error& e, bool not_found_is_message) {
  if (e.code == chat::ErrorCode::kNotFound) {
    const bool message = not_found_is_message && e.field != "subject";
    e = chat::Error::not_found(message ? "message not found" : "job not found");
    return message ? "MESSAGE_NOT_FOUND" : "JOB_NOT_FOUND";
  }
  if (e.code == chat::ErrorCode::kConflict && e.field == "message_id") {
    // The seed answers a reused message_id with 400, not 409.
    e = chat::Error::invalid("message_id", "message_id: already used by a different message in this chat");
    return "DUPLICATE_MESSAGE_ID";
  }
  if (e.code == chat::ErrorCode::kInvalidArgument) return "VALIDATION_ERROR";
  std::string code(chat::to_string(e.code));
  std::transform(code.begin(), code.end(), code.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return code;
}

const std::vector<FieldRename> kRenames = {{"client_id", "message_id"}};
const ErrorStyle kChatErrors{kRenames, [](chat::Error& e) { return quote_code(e, false); }};
const ErrorStyle kMessageErrors{kRenames, [](chat::Error& e) { return quote_code(e, true); }};

// ---- rendering

json message_json(const chat::Message& m, bool with_updated_at) {
  json out = {{"message_id", m.client_id},
              {"role", chat::to_string(m.role)},
              {"content", m.content},
              {"timestamp", chat::format_timestamp(m.created_at)},
              {"metadata", json_from_text(m.metadata)}};
  if (with_updated_at) out["updated_at"] = chat::format_timestamp(m.updated_at);
  return out;
}

// The quote chat itself, which the seed never shows whole: its job and counts
// (the data of conversation.* events, issue 14).
json quote_chat_json(const chat::Conversation& c) {
  return {{"job_id", c.subject},
          {"total_messages", c.total_messages},
          {"updated_at", chat::format_timestamp(c.updated_at)}};
}

// ---- GET: the chat's history
chat::Result<chat::Page<chat::Message>> list_history(const RouteContext& ctx, const chat::Principal& who,
                                                     QuoteHistoryRequest& in) {
  return ctx.service.list_messages(who, in.key, in.query);
}
Reply render_history(const QuoteHistoryRequest& in, const chat::Page<chat::Message>& page) {
  json messages = json::array();
  for (const auto& m : page.items) messages.push_back(message_json(m, false));
  return Reply::ok(success_data({{"job_id", in.job_id}, {"messages", std::move(messages)}}));
}

// ---- POST: a message (a replay answers exactly what the first post answered)
chat::Result<chat::PostResult> post_message(const RouteContext& ctx, const chat::Principal& who,
                                            PostQuoteMessageRequest& in) {
  return ctx.service.post_message(who, in.key, std::move(in.message));
}
Reply render_posted(const PostQuoteMessageRequest&, const chat::PostResult& posted) {
  return Reply::created(success_data({{"message_id", posted.message.client_id},
                                      {"timestamp", chat::format_timestamp(posted.message.created_at)}}));
}

// ---- DELETE: clear the chat
chat::Result<std::int64_t> clear_chat(const RouteContext& ctx, const chat::Principal& who, QuoteChatRequest& in) {
  return ctx.service.clear_conversation(who, in.key);
}
Reply render_cleared(const QuoteChatRequest&, std::int64_t n) { return Reply::ok(success_data({{"deleted_count", n}})); }

// ---- PATCH: partial update. metadata, when given, replaces the stored object
// (the original's JSONField does the same): a streaming UI sends the whole
// state object each time. The message keeps its id, timestamp and place.
chat::Result<chat::Message> edit_message(const RouteContext& ctx, const chat::Principal& who,
                                         PatchQuoteMessageRequest& in) {
  return ctx.service.edit_message(who, in.key, in.patch);
}
Reply render_edited(const PatchQuoteMessageRequest&, const chat::Message& m) {
  return Reply::ok(success_data(message_json(m, true)));
}

}  // namespace

void register_seed000_routes(Router& router, const RouteContext& ctx) {
  constexpr auto kUser = Access::kUser;
  const std::string base = "/api/jobs/{job_id}/quote-chat/";
  router.get(base, endpoint(ctx, kUser, kChatErrors, parse_quote_history, list_history, render_history));
  router.post(base, endpoint(ctx, kUser, kChatErrors, parse_post_quote_message, post_message, render_posted));
  router.del(base, endpoint(ctx, kUser, kChatErrors, parse_quote_chat, clear_chat, render_cleared));
  router.patch(base + "{message_id}/",
               endpoint(ctx, kUser, kMessageErrors, parse_patch_quote_message, edit_message, render_edited));

  // Issue 14: the quote chat's events (event_stream_route.hpp). The literal
  // segment "events" wins over {message_id} (router.hpp), so a message whose
  // message_id is "events" cannot be PATCHed; seed 000 ids are UUIDs.
  register_event_routes(
      router, ctx,
      {base + "events", kUser, &kChatErrors,
       [](const httplib::Request& req, const PathParams& p) -> chat::Result<chat::ConversationKey> {
         CHAT_ASSIGN_OR_RETURN(auto in, parse_quote_chat(req, p));
         return std::move(in.key);
       },
       {[](const chat::Message& m, const chat::Conversation&) { return message_json(m, true); },
        [](const chat::Conversation& c) { return quote_chat_json(c); }},
       /*tickets=*/true});
}

}  // namespace chatd
