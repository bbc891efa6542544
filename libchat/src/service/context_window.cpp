#include "service/context_window.hpp"

#include <algorithm>

namespace chat::detail {

bool eligible_for_context(const Message& m) noexcept {
  if (m.deleted_at || m.content.empty() || m.status == MessageStatus::kFailed) return false;
  return m.role == Role::kUser || m.role == Role::kAssistant || m.role == Role::kAgent;
}

Result<ContextWindow> build_context_window(const ContextParams& params, const TokenCounter& counter) {
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
    const std::int64_t n = counter.count(*params.new_message);
    if (n > budget)
      return Error::invalid("content", "the message is too long for the model's context window (" +
                                           std::to_string(n) + " tokens, " +
                                           std::to_string(std::max<std::int64_t>(budget, 0)) + " available)");
    budget -= n;
    w.prompt_tokens += n;
  } else if (budget < 0) {
    return Error::invalid("initial_context", "the system prompt and initial context exceed the context window");
  }

  // Newest first until the first message that does not fit.
  std::vector<const Message*> picked;
  std::size_t eligible = 0;
  bool full = false;
  if (params.include_context) {
    for (auto it = params.history.rbegin(); it != params.history.rend(); ++it) {
      if (!eligible_for_context(*it)) continue;
      ++eligible;
      if (full) continue;
      const std::int64_t n = counter.count(it->content);
      if (n > budget) {
        full = true;
        continue;
      }
      budget -= n;
      w.prompt_tokens += n;
      picked.push_back(&*it);
    }
  }
  w.history_used = picked.size();
  w.history_dropped = eligible - picked.size();
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) w.turns.push_back({(*it)->role, (*it)->content});
  if (params.new_message) w.turns.push_back({Role::kUser, *params.new_message});
  return w;
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
