#include <catch2/catch.hpp>

#include "service/context_window.hpp"

using namespace chat;
using chat::detail::build_context_window;
using chat::detail::ContextParams;

namespace {

// One token per byte: budgets in tests are exact and readable.
class ByteCounter final : public TokenCounter {
 public:
  std::int64_t count(std::string_view text) const override { return static_cast<std::int64_t>(text.size()); }
  std::string_view name() const override { return "bytes"; }
  bool exact() const override { return true; }
};

Message msg(Role role, std::string content, MessageStatus status = MessageStatus::kSent) {
  Message m;
  m.role = role;
  m.content = std::move(content);
  m.status = status;
  return m;
}

std::vector<std::string> contents(const std::vector<ChatTurn>& turns) {
  std::vector<std::string> out;
  for (const auto& t : turns) out.push_back(t.content);
  return out;
}

}  // namespace

TEST_CASE("context: system prompt, initial context, history, new message in order", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.system_prompt = std::string("SYS");            // 3
  p.initial_context = std::string("RESUME");       // 6
  p.history = {msg(Role::kUser, "aa"), msg(Role::kAssistant, "bbb"), msg(Role::kAgent, "cccc")};
  p.new_message = std::string("new");              // 3
  p.context_tokens = 100;
  p.reply_tokens = 10;
  auto w = build_context_window(p, counter);
  REQUIRE(w);
  CHECK(contents(w->turns) == std::vector<std::string>{"SYS", "RESUME", "aa", "bbb", "cccc", "new"});
  CHECK(w->turns[0].role == Role::kSystem);
  CHECK(w->turns[1].role == Role::kSystem);
  CHECK(w->turns[2].role == Role::kUser);
  CHECK(w->turns[3].role == Role::kAssistant);
  CHECK(w->turns[4].role == Role::kAgent);
  CHECK(w->turns[5].role == Role::kUser);
  CHECK(w->prompt_tokens == 3 + 6 + 2 + 3 + 4 + 3);
  CHECK(w->history_used == 3);
  CHECK_FALSE(w->history_truncated);
}

TEST_CASE("context: budgets are exact and the oldest messages go first", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.system_prompt = std::string("SYS");  // 3
  p.initial_context = std::string("IC");  // 2
  p.history = {msg(Role::kUser, "1111"), msg(Role::kAssistant, "222"), msg(Role::kUser, "33"),
               msg(Role::kAssistant, "44444")};
  p.new_message = std::string("nn");  // 2
  p.reply_tokens = 10;

  // Budget for history = context - 10 - 3 - 2 - 2 = context - 17.
  SECTION("everything fits exactly") {
    p.context_tokens = 17 + 4 + 3 + 2 + 5;
    auto w = build_context_window(p, counter);
    REQUIRE(w);
    CHECK(w->history_used == 4);
    CHECK(w->prompt_tokens == p.context_tokens - p.reply_tokens);
  }
  SECTION("one token short drops the oldest") {
    p.context_tokens = 17 + 4 + 3 + 2 + 5 - 1;
    auto w = build_context_window(p, counter);
    REQUIRE(w);
    CHECK(contents(w->turns) == std::vector<std::string>{"SYS", "IC", "222", "33", "44444", "nn"});
    CHECK(w->history_truncated);
  }
  SECTION("a short older message never jumps over a newer one that does not fit") {
    p.context_tokens = 17 + 5 + 1;  // "44444" fits, then "33" does not; "222" and "1111" are older
    auto w = build_context_window(p, counter);
    REQUIRE(w);
    CHECK(contents(w->turns) == std::vector<std::string>{"SYS", "IC", "44444", "nn"});
    CHECK(w->history_used == 1);
    CHECK(w->history_truncated);
  }
  SECTION("no room for history keeps the new message") {
    p.context_tokens = 17;
    auto w = build_context_window(p, counter);
    REQUIRE(w);
    CHECK(contents(w->turns) == std::vector<std::string>{"SYS", "IC", "nn"});
    CHECK(w->prompt_tokens == 7);
  }
  SECTION("a new message that does not fit alone is an error naming content") {
    p.context_tokens = 16;
    auto w = build_context_window(p, counter);
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::kInvalidArgument);
    CHECK(w.error().field == "content");
  }
}

TEST_CASE("context: system rows, failed and deleted messages are not history", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.system_prompt = std::string("S");
  Message deleted = msg(Role::kUser, "deleted");
  deleted.deleted_at = from_millis(1);
  p.history = {msg(Role::kUser, "keep1"), msg(Role::kSystem, "system row"),
               msg(Role::kAssistant, "partial", MessageStatus::kFailed), deleted, msg(Role::kAssistant, ""),
               msg(Role::kAssistant, "keep2", MessageStatus::kComplete)};
  p.new_message = std::string("q");
  auto w = build_context_window(p, counter);
  REQUIRE(w);
  CHECK(contents(w->turns) == std::vector<std::string>{"S", "keep1", "keep2", "q"});
  CHECK_FALSE(w->history_truncated);
}

TEST_CASE("context: include_context=false sends the system prompt and the new message only", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.system_prompt = std::string("SYS");
  p.initial_context = std::string("IC");
  p.history = {msg(Role::kUser, "old")};
  p.new_message = std::string("new");
  p.include_context = false;
  auto w = build_context_window(p, counter);
  REQUIRE(w);
  CHECK(contents(w->turns) == std::vector<std::string>{"SYS", "new"});
  CHECK(w->prompt_tokens == 6);
  CHECK(w->history_used == 0);
}

TEST_CASE("context: empty system prompt and initial context are omitted", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.history = {msg(Role::kUser, "hi"), msg(Role::kAssistant, "hello")};
  auto w = build_context_window(p, counter);
  REQUIRE(w);
  CHECK(contents(w->turns) == std::vector<std::string>{"hi", "hello"});
  CHECK(w->prompt_tokens == 7);
}

TEST_CASE("context: system parts larger than the window without a new message", "[context]") {
  ByteCounter counter;
  ContextParams p;
  p.system_prompt = std::string(20, 's');
  p.initial_context = std::string(20, 'i');
  p.context_tokens = 30;
  p.reply_tokens = 0;
  auto w = build_context_window(p, counter);
  REQUIRE_FALSE(w);
  CHECK(w.error().field == "initial_context");
  p.new_message = std::string("x");
  auto w2 = build_context_window(p, counter);
  REQUIRE_FALSE(w2);
  CHECK(w2.error().field == "content");
}

TEST_CASE("context: the estimating counter budgets by four bytes per token", "[context]") {
  auto counter = make_estimating_token_counter();
  ContextParams p;
  p.system_prompt = std::string("12345678");                  // 2 tokens
  p.history = {msg(Role::kUser, "abcd"), msg(Role::kAssistant, "abcde")};  // 1, 2 tokens
  p.new_message = std::string("xyz");                          // 1 token
  p.context_tokens = 10;
  p.reply_tokens = 4;  // 6 for the prompt: 2 + 1 + 2 = 5, "abcd" would make 6
  auto w = build_context_window(p, *counter);
  REQUIRE(w);
  CHECK(w->history_used == 2);
  CHECK(w->prompt_tokens == 6);
  p.reply_tokens = 5;
  auto w2 = build_context_window(p, *counter);
  REQUIRE(w2);
  CHECK(w2->history_used == 1);
  CHECK(w2->prompt_tokens == 5);
}
