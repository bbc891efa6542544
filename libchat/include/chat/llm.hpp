// chat/llm.hpp: the interface to language models.
//
// An LlmProvider turns a list of chat turns into a reply, whole (complete) or
// chunk by chunk (stream). Providers are thread-safe: one instance serves
// concurrent requests. They never throw: a provider down or timing out is
// kUnavailable or kDeadlineExceeded, an error or garbage from the model
// server is kUpstream, a bad request kInvalidArgument.
//
// Cancellation: stream() calls on_chunk for each piece of text as it arrives;
// when on_chunk returns false the provider stops generating (closing the
// upstream request) and returns what it had with finish_reason "cancelled".
// CompletionRequest::stop (a C++20 std::stop_token) cancels from outside, at
// any point of a call, streaming or not: a provider aborts what it is doing
// (the OpenAI-compatible one shuts its socket down, even while connecting or
// waiting for the first byte) and answers kUnavailable "the model call was
// cancelled" promptly (whatever it had delivered): the answer is no longer
// wanted because the caller left or the service is stopping, and "retry
// later" is the right advice for whoever still listens. A token requested
// before the call starts means no upstream request at all. Bounds on calls
// (concurrency, deadlines, reply size) are ChatService's (ModelCallBounds,
// chat/service.hpp), applied to any provider through this token.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"

namespace chat {

struct ChatTurn {
  Role role = Role::kUser;  // kAgent is sent as "assistant"
  std::string content;
};

struct CompletionRequest {
  std::string model;  // empty: the provider's default
  std::vector<ChatTurn> messages;
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  // Requested: abandon the call (see the header comment). Default: never requested.
  std::stop_token stop;
};

struct Completion {
  std::string content;
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool usage_reported = false;  // false: token counts are the caller's estimate
  // "stop", "length" (max_tokens, or ModelCallBounds::max_reply_bytes: the
  // content was cut there), "cancelled", ...
  std::string finish_reason;
};

using ChunkCallback = std::function<bool(std::string_view chunk)>;

class LlmProvider {
 public:
  virtual ~LlmProvider() = default;
  virtual std::string_view name() const = 0;
  virtual Result<Completion> complete(const CompletionRequest& request) = 0;
  virtual Result<Completion> stream(const CompletionRequest& request, const ChunkCallback& on_chunk) = 0;
};

struct EchoOptions {
  // Pause before each streamed chunk; lets tests and demos watch a stream.
  std::chrono::milliseconds chunk_delay{0};
};

// Replies "Echo: <content of the last user turn>"; streams it word by word
// ("Echo:", " hello", " world"), so the chunks concatenate to the reply.
// Token counts are words, reported as usage. Deterministic, for tests.
// Honours CompletionRequest::stop between chunks and during chunk_delay.
std::unique_ptr<LlmProvider> make_echo_provider(EchoOptions options = {});

}  // namespace chat
