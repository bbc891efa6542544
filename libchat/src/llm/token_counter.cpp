#include "chat/token_counter.hpp"

namespace chat {

namespace {

class EstimatingTokenCounter final : public TokenCounter {
 public:
  std::int64_t count(std::string_view text) const override {
    return static_cast<std::int64_t>((text.size() + 3) / 4);
  }
  std::string_view name() const override { return "estimate-4-bytes"; }
  bool exact() const override { return false; }
  std::string_view counter_id() const override { return "bytes/4"; }
  std::int64_t max_token_bytes() const override { return 4; }
};

}  // namespace

std::unique_ptr<TokenCounter> make_estimating_token_counter() {
  return std::make_unique<EstimatingTokenCounter>();
}

}  // namespace chat
