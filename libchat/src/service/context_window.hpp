// The context window of an AI reply: which turns are sent to the model.
// Private to libchat; a pure function of its inputs, so budgets are
// unit-tested exactly.
//
// The window is, in order:
//   1. the system prompt (omitted when empty),
//   2. the conversation's initial_context as a second system turn (when
//      non-empty and include_context is true),
//   3. the most recent history messages that fit the budget,
//   4. the new user message, if any.
// Budget: context_tokens - reply_tokens - tokens(system parts). History is
// taken newest first and stops at the first message that does not fit (or at
// max_history messages), so the window is always a contiguous recent stretch
// of the conversation (oldest dropped first; a message is never split, and an
// older short message never jumps over a newer long one). Only live user,
// assistant and agent messages count as history: system rows, failed
// messages (e.g. cancelled streams), deleted rows and empty contents are
// skipped. Token cost is counter.count(content) per turn, with no per-turn
// overhead; a history message whose stored count came from this counter
// (ContextMessage::tokens) costs that count without counting again.
//
// Cost (issue 11): history is read newest first in small batches
// (HistoryReader, Store::list_context) and reading stops once the budget is
// full, so a reply reads and counts about what its window holds, however long
// the conversation; no Message is built for history.
//
// A text longer in bytes than max_token_bytes() * the budget left cannot fit
// and is refused (the new message) or ends the history (a message without a
// stored count) by its length, before any exact count.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "chat/llm.hpp"
#include "chat/result.hpp"
#include "chat/store.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"

namespace chat::detail {

struct ContextParams {
  std::string system_prompt;
  std::string initial_context;
  // Earlier messages of the conversation, chronological (oldest first), not
  // including the new message: the history of the overload without a
  // HistoryReader (tests, callers holding the messages already).
  std::vector<Message> history;
  std::optional<std::string> new_message;  // the user's message; absent: answer the conversation as it stands
  bool include_context = true;             // false: system prompt + new message only
  std::int64_t context_tokens = 8192;
  std::int64_t reply_tokens = 1024;
  std::int64_t max_history = 1000;         // history messages a window holds at most
};

struct ContextWindow {
  std::vector<ChatTurn> turns;
  std::int64_t prompt_tokens = 0;       // sum of the counted turns
  std::int64_t new_message_tokens = 0;  // the new message's count (0 without one): stored with it
  std::size_t history_used = 0;         // history messages in the window
  bool history_truncated = false;       // an older eligible message was left out (budget or max_history)
};

// The next batch of eligible history (the rule above), newest first, older
// than every message of the batches before: at most `limit` messages, and
// ending after the one whose content takes the batch past `max_bytes` when
// that is > 0; fewer than `limit` means none are left or the bytes ran out
// (either way the window needs no more). Store::list_context with a moving
// before_id.
using HistoryReader =
    std::function<Result<std::vector<ContextMessage>>(std::int64_t limit, std::size_t max_bytes)>;

// Fails with kInvalidArgument field "content" when the new message does not
// fit beside the system parts, and field "initial_context" when there is no
// new message and the system parts alone exceed the budget; with the
// reader's error when a batch fails.
Result<ContextWindow> build_context_window(const ContextParams& params, const HistoryReader& history,
                                           const TokenCounter& counter);
// The same over params.history.
Result<ContextWindow> build_context_window(const ContextParams& params, const TokenCounter& counter);

// Whether a stored message may be part of a model's context.
bool eligible_for_context(const Message& m) noexcept;

// True when `text` cannot fit `budget` tokens by its byte length alone
// (TokenCounter::max_token_bytes); false says nothing.
bool over_budget_by_length(std::string_view text, std::int64_t budget, const TokenCounter& counter) noexcept;

}  // namespace chat::detail

// ---- token-budgeted sections (seed 004 initial contexts) -------------------
namespace chat::detail {

inline constexpr std::string_view kTruncationMark = "\n[...]";

struct Truncated {
  std::string text;
  bool truncated = false;
};

// `text` when counter.count(text) <= budget. Otherwise the longest prefix that
// ends at a line end or a sentence end (". ", "! ", "? "), followed by
// kTruncationMark, whose count (mark included) fits the budget; when not even
// the first sentence fits, the longest prefix cut at a UTF-8 character
// boundary, with the mark. A budget too small for the mark alone gives "".
// Trailing whitespace before the mark is dropped.
Truncated truncate_to_tokens(std::string_view text, std::int64_t budget, const TokenCounter& counter);

}  // namespace chat::detail
