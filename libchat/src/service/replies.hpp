// AI replies: reply(), reply_stream() and check_reply(). Private to libchat.
//
// A reply runs in named steps:
// 1. persona: the request's agent must exist (kNotFound "agent_id"); the
//    conversation's may have been removed since, and then the defaults apply.
// 2. replay: an idempotent retry. A request whose client_id names a stored
//    user message with the same content, answered by a complete assistant
//    message after it (before the next user message), returns that answer
//    without calling the provider (a stream gets it as one chunk). Two
//    concurrent first attempts with one client_id may both generate (the
//    second one's user message is the replay of the first). Seeds 002/003:
//    reuse_latest_user_message compares with the newest live non-system message.
// 3. context: built before anything is stored, so a message too large for the
//    window writes nothing. At most 1,000 recent messages are considered.
// 4. admission: a place among ModelCallBounds::max_concurrent calls
//    (kResourceExhausted when full) and the request's stop token not yet
//    requested (kUnavailable "cancelled"): a busy server or a caller gone
//    changes nothing, like bad input. Then the user message is stored
//    (unless replayed or empty).
// 5. provider call, through ModelCalls (llm/model_calls.hpp: deadline,
//    first-chunk wait, reply size cap, default max_tokens, cancellation by
//    ReplyRequest::stop or shutdown). Processing time is wall time (steady
//    clock) spent in it. A provider that fails before any output stores no
//    answer (a retry with the same client_id generates again).
// 6. storing the answer: metadata holds model, prompt_tokens,
//    completion_tokens, finish_reason and reply_to (the user message id); a
//    cancelled or failed stream stores what was produced with status failed
//    (finish_reason "cancelled" when its stop token or shutdown ended it,
//    "error" otherwise); a reply cut at max_reply_bytes is complete, "length".
#pragma once

#include <optional>
#include <string>

#include "chat/service.hpp"
#include "service/context_window.hpp"
#include "service/key_lookup.hpp"
#include "service/messages.hpp"
#include "service/registries.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class Replies {
 public:
  Replies(ServiceCore& core, KeyLookup& keys, Messages& messages, Registries& registries)
      : core_(core), keys_(keys), messages_(messages), registries_(registries) {}

  // on_chunk null: a plain reply; otherwise a stream. `permit`: a place the
  // caller admitted already (coach sessions admit before they create the
  // session); null: the reply admits its own at step 4.
  Result<ReplyResult> reply(const Principal& who, const ConversationKey& key, ReplyRequest r,
                            const StreamCallback* on_chunk, ModelCalls::Permit* permit = nullptr);
  Status check(const Principal& who, const ConversationKey& key, const ReplyRequest& r);

 private:
  // What the provider produced.
  struct Generated {
    Result<Completion> completion = Error::internal("no completion");
    std::string text;
    bool cancelled = false;
    std::size_t chunks = 0;
    double seconds = 0;
  };

  Status validate(ReplyRequest& r) const;
  Result<std::optional<Agent>> persona(const Conversation& c, const ReplyRequest& r);
  Result<std::optional<Message>> reusable_user_message(const Conversation& c, const ReplyRequest& r);
  Result<std::optional<Message>> stored_answer(std::int64_t conversation_id, std::int64_t user_message_id);
  ReplyResult replayed(const Conversation& c, Message user, Message answer, const StreamCallback* on_chunk);
  Result<ContextWindow> context(const Conversation& c, const ReplyRequest& r,
                                       const std::optional<Agent>& agent, const std::optional<Message>& user);
  // `content_tokens`: the window's count of r.content, stored with it.
  Result<Message> store_user_message(const Conversation& c, const ReplyRequest& r, std::int64_t content_tokens);
  Generated call_provider(const ModelCalls::Permit& permit, const CompletionRequest& request,
                          const std::optional<Message>& user, const std::string& assistant_uuid,
                          const StreamCallback* on_chunk);
  Usage usage_of(const Generated& g, const std::string& model, std::int64_t window_prompt_tokens) const;
  Result<Message> store_answer(const Conversation& c, const Generated& g, const Usage& usage,
                               const std::string& model, const std::string& assistant_uuid,
                               const std::optional<Message>& user);
  double cost_of(const std::string& model, std::int64_t prompt_tokens, std::int64_t completion_tokens) const;
  Conversation refreshed(const Conversation& c);

  ServiceCore& core_;
  KeyLookup& keys_;
  Messages& messages_;
  Registries& registries_;
};

}  // namespace chat::detail
