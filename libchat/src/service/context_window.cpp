#include "service/context_window.hpp"

#include <algorithm>
#include <limits>

namespace chat::detail {

namespace {

// Batches grow from a size that holds a short conversation in one read to
// one that keeps the reads of a 1,000-message window few (32, 128, 512, 512:
// each read costs about 20 rows' worth; rows read past the budget are at
// most the last batch).
constexpr std::int64_t kFirstBatch = 32;
constexpr std::int64_t kBatchGrowth = 4;
constexpr std::int64_t kLargestBatch = 512;

std::string too_long(std::string_view what, std::int64_t tokens, std::int64_t budget) {
  return "the message is too long for the model's context window (" + std::string(what) + std::to_string(tokens) +
         " tokens, " + std::to_string(std::max<std::int64_t>(budget, 0)) + " available)";
}

}  // namespace

bool eligible_for_context(const Message& m) noexcept {
  if (m.deleted_at || m.content.empty() || m.status == MessageStatus::kFailed) return false;
  return m.role == Role::kUser || m.role == Role::kAssistant || m.role == Role::kAgent;
}

bool over_budget_by_length(std::string_view text, std::int64_t budget, const TokenCounter& counter) noexcept {
  const std::int64_t per_token = counter.max_token_bytes();
  if (per_token <= 0) return false;
  const auto bytes = static_cast<std::int64_t>(text.size());
  return (bytes + per_token - 1) / per_token > budget;  // at least that many tokens
}

Result<ContextWindow> build_context_window(const ContextParams& params, const HistoryReader& history,
                                           const TokenCounter& counter) {
  ContextWindow w;
  std::int64_t budget = params.context_tokens - params.reply_tokens;

  if (!params.system_prompt.empty()) {
    const std::int64_t n = counter.count(params.system_prompt);
    w.turns.push_back({Role::kSystem, params.system_prompt});
    w.prompt_tokens += n;
    budget -= n;
  }
  const bool with_initial = params.include_context && !params.initial_context.empty();
  if (with_initial) {
    const std::int64_t n = counter.count(params.initial_context);
    w.turns.push_back({Role::kSystem, params.initial_context});
    w.prompt_tokens += n;
    budget -= n;
  }

  if (params.new_message) {
    const std::string& text = *params.new_message;
    if (over_budget_by_length(text, budget, counter)) {
      const std::int64_t per_token = counter.max_token_bytes();
      const auto at_least = (static_cast<std::int64_t>(text.size()) + per_token - 1) / per_token;
      return Error::invalid("content", too_long("at least ", at_least, budget));
    }
    const std::int64_t n = counter.count(text);
    if (n > budget) return Error::invalid("content", too_long("", n, budget));
    budget -= n;
    w.prompt_tokens += n;
    w.new_message_tokens = n;
  } else if (budget < 0) {
    return Error::invalid("initial_context", "the system prompt and initial context exceed the context window");
  }

  // Newest first until the first message that does not fit.
  std::vector<ContextMessage> picked;
  if (params.include_context && params.max_history > 0) {
    std::int64_t batch = kFirstBatch;
    bool done = false;
    while (!done) {
      // One more than the room left, to know whether the cap cut anything.
      const std::int64_t room = params.max_history - static_cast<std::int64_t>(picked.size());
      const std::int64_t want = std::min(batch, room + 1);
      // Content past max_token_bytes * budget bytes cannot all fit: reading
      // further would only hold memory.
      const std::int64_t per_token = counter.max_token_bytes();
      const std::size_t max_bytes =
          per_token > 0 && budget < (std::numeric_limits<std::int64_t>::max() / per_token)
              ? static_cast<std::size_t>(std::max<std::int64_t>(budget * per_token, 1))  // 0 would mean no bound
              : 0;
      CHAT_ASSIGN_OR_RETURN(auto rows, history(want, max_bytes));
      done = static_cast<std::int64_t>(rows.size()) < want;
      for (auto& row : rows) {
        if (static_cast<std::int64_t>(picked.size()) == params.max_history) {
          w.history_truncated = true;
          done = true;
          break;
        }
        if (!row.tokens && over_budget_by_length(row.content, budget, counter)) {
          w.history_truncated = true;
          done = true;
          break;
        }
        const std::int64_t n = row.tokens ? *row.tokens : counter.count(row.content);
        if (n > budget) {
          w.history_truncated = true;
          done = true;
          break;
        }
        budget -= n;
        w.prompt_tokens += n;
        picked.push_back(std::move(row));
      }
      batch = std::min(batch * kBatchGrowth, kLargestBatch);
    }
  }
  w.history_used = picked.size();
  w.turns.reserve(w.turns.size() + picked.size() + 1);
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) w.turns.push_back({it->role, std::move(it->content)});
  if (params.new_message) w.turns.push_back({Role::kUser, *params.new_message});
  return w;
}

Result<ContextWindow> build_context_window(const ContextParams& params, const TokenCounter& counter) {
  auto next = params.history.rbegin();
  const HistoryReader reader = [&](std::int64_t limit, std::size_t max_bytes) -> Result<std::vector<ContextMessage>> {
    std::vector<ContextMessage> out;
    std::size_t bytes = 0;
    for (; next != params.history.rend() && static_cast<std::int64_t>(out.size()) < limit &&
           (max_bytes == 0 || bytes <= max_bytes);
         ++next) {
      if (!eligible_for_context(*next)) continue;
      bytes += next->content.size();
      out.push_back(ContextMessage{next->id, next->role, next->content, std::nullopt});
    }
    return out;
  };
  return build_context_window(params, reader, counter);
}

}  // namespace chat::detail

namespace chat::detail {

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The largest index i in [0, cuts.size()) with fits(cuts[i]), or -1; fits is
// monotone in practice, and the answer is re-checked downwards to be exact.
template <typename Fits>
std::ptrdiff_t largest_fitting(const std::vector<std::size_t>& cuts, Fits&& fits) {
  std::ptrdiff_t lo = 0, hi = static_cast<std::ptrdiff_t>(cuts.size()) - 1, best = -1;
  while (lo <= hi) {
    const std::ptrdiff_t mid = lo + (hi - lo) / 2;
    if (fits(cuts[static_cast<std::size_t>(mid)])) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

}  // namespace

Truncated truncate_to_tokens(std::string_view text, std::int64_t budget, const TokenCounter& counter) {
  if (counter.count(text) <= budget) return {std::string(text), false};
  Truncated out;
  out.truncated = true;
  auto candidate = [&](std::size_t cut) {
    std::string s(trim_right(text.substr(0, cut)));
    if (s.empty()) return std::string();
    s += kTruncationMark;
    return s;
  };
  auto fits = [&](std::size_t cut) {
    const std::string s = candidate(cut);
    return !s.empty() && counter.count(s) <= budget;
  };
  // Line and sentence ends.
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      cuts.push_back(i);
    } else if ((text[i] == '.' || text[i] == '!' || text[i] == '?') && i + 1 < text.size() &&
               (text[i + 1] == ' ' || text[i + 1] == '\n')) {
      cuts.push_back(i + 1);
    }
  }
  std::ptrdiff_t best = largest_fitting(cuts, fits);
  if (best < 0) {
    // No whole sentence fits: cut at a character boundary.
    cuts.clear();
    for (std::size_t i = 1; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cuts.push_back(i);
    best = largest_fitting(cuts, fits);
  }
  while (best >= 0 && !fits(cuts[static_cast<std::size_t>(best)])) --best;
  if (best >= 0) out.text = candidate(cuts[static_cast<std::size_t>(best)]);
  return out;
}

}  // namespace chat::detail
