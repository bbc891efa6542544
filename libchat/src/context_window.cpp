#include "context_window.hpp"

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
