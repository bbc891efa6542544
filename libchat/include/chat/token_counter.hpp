// chat/token_counter.hpp: counting tokens for context budgets.
//
// A TokenCounter says how many model tokens a text costs. Implementations are
// immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace chat {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  virtual std::int64_t count(std::string_view text) const = 0;
  virtual std::string_view name() const = 0;
  // True when counts match the model's tokenizer; false for an estimate.
  virtual bool exact() const = 0;
};

// The documented estimate used when no tokenizer is configured: one token per
// four bytes of UTF-8, rounded up (so any non-empty text costs at least one).
// It overestimates typical English slightly, the safe side for budgets.
std::unique_ptr<TokenCounter> make_estimating_token_counter();

}  // namespace chat
