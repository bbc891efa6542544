// chat/reply.hpp: AI replies (ChatService::reply, reply_stream, check_reply).
//
// A reply stores the user message (unless the request has none), builds the
// context (the persona's system prompt, the conversation's initial_context,
// then the most recent messages that fit ServiceOptions::context_tokens minus
// reply_tokens), calls the LlmProvider, and stores the assistant message with
// its usage. Plain value types; a StreamCallback is called on the replying
// thread, never concurrently with itself.
//
// Seed words: seed 001 `message` = ReplyRequest::content, `response_id` = the
// assistant message uuid; seed 003 `message` = content, `agent_id` = the
// persona, `tokens_used` = Usage::completion_tokens; seed 004 `question` /
// `message` = content, `total_tokens_used` = Conversation::total_tokens.
// "Agent" here is always the AI persona (chat::Agent), never a human agent.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "chat/types.hpp"

namespace chat {

struct ReplyRequest {
  // The user's message, stored before the reply. Empty: nothing is stored
  // and the model answers the conversation as it stands. Blank content
  // (chat::is_blank) is refused: kInvalidArgument "content".
  std::string content;
  std::string client_id;  // idempotency key of the user message
  std::string metadata = "{}";
  std::optional<std::int64_t> agent_id;  // persona; default: the conversation's agent
  bool include_context = true;           // false: only the system prompt and this message
  std::string model;                     // empty: the persona's model, else the service default
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;     // 0..2
  // Seeds 002/003: when true and `content` equals the content of the newest
  // live non-system message of the conversation, and that message has role
  // user, that message is the user message of this reply and nothing new is
  // stored (the seed 003 client posts the message first, then asks for the
  // AI response with the same text). Ignored when client_id is set.
  bool reuse_latest_user_message = false;
  // Requested: the answer is no longer wanted (the client hung up, the server
  // is stopping). The model call is cancelled at once, however far it got: a
  // reply with no output yet stores no answer and answers kUnavailable "the
  // model call was cancelled" (the user message, when stored, stays, as for
  // any provider failure); a stream that had produced text stores it with
  // status failed and finish_reason "cancelled". Requested before the call:
  // no model call at all. Default: never requested. (Issue 9.)
  std::stop_token stop;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  double processing_time = 0;  // seconds of wall time spent in the provider
  double cost = 0;             // from the model price table (ModelPrice); 0 for unknown models
};

struct ReplyResult {
  std::optional<Message> user_message;  // absent when the request had no content
  Message assistant_message;
  Usage usage;
  Conversation conversation;  // after the reply (counters updated)
};

// What reply_stream reports with each chunk. The views are valid during the call only.
struct StreamEvent {
  std::string_view chunk;
  const Message* user_message = nullptr;  // the stored user message, if any
  std::string_view assistant_uuid;        // the uuid the assistant message will have
};
using StreamCallback = std::function<bool(const StreamEvent& event)>;  // false: cancel

// A model's price per 1,000 tokens (ServiceOptions::prices).
struct ModelPrice {
  std::string model;
  double prompt_per_1k = 0;
  double completion_per_1k = 0;
};

}  // namespace chat
