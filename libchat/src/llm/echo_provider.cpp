#include <condition_variable>
#include <mutex>
#include <stop_token>

#include "chat/llm.hpp"

namespace chat {

namespace {

// Splits "Echo: hello big world" into "Echo:", " hello", " big", " world":
// each chunk carries the whitespace before it, so the chunks concatenate to
// the whole reply byte for byte.
std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t i = start;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    while (i < text.size() && !(text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    out.push_back(text.substr(start, i - start));
    start = i;
  }
  return out;
}

Error cancelled() { return Error::unavailable("the model call was cancelled"); }

// Sleeps for `d` or until `stop` is requested; false when it was.
bool pause(std::chrono::milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
}

// Runs of non-whitespace, as split_words cuts them; without building the
// pieces, since every reply counts its whole prompt (issue 11).
std::int64_t count_words(std::string_view text) {
  std::int64_t n = 0;
  bool in_word = false;
  for (const char ch : text) {
    const bool space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

class EchoProvider final : public LlmProvider {
 public:
  explicit EchoProvider(EchoOptions options) : options_(options) {}

  std::string_view name() const override { return "echo"; }

  Result<Completion> complete(const CompletionRequest& request) override {
    if (request.stop.stop_requested()) return cancelled();
    Completion c = base(request);
    c.content = reply_to(request);
    c.completion_tokens = count_words(c.content);
    c.finish_reason = "stop";
    return c;
  }

  Result<Completion> stream(const CompletionRequest& request, const ChunkCallback& on_chunk) override {
    Completion c = base(request);
    const std::string reply = reply_to(request);
    c.finish_reason = "stop";
    for (std::string_view chunk : split_words(reply)) {
      if (options_.chunk_delay.count() > 0 && !pause(options_.chunk_delay, request.stop)) return cancelled();
      if (request.stop.stop_requested()) return cancelled();
      if (!on_chunk(chunk)) {
        c.finish_reason = "cancelled";
        break;
      }
      c.content += chunk;
    }
    c.completion_tokens = count_words(c.content);
    return c;
  }

 private:
  static Completion base(const CompletionRequest& request) {
    Completion c;
    c.model = "echo";
    for (const auto& turn : request.messages) c.prompt_tokens += count_words(turn.content);
    c.usage_reported = true;
    return c;
  }

  static std::string reply_to(const CompletionRequest& request) {
    for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it)
      if (it->role == Role::kUser) return "Echo: " + it->content;
    return "Echo: ";
  }

  EchoOptions options_;
};

}  // namespace

std::unique_ptr<LlmProvider> make_echo_provider(EchoOptions options) {
  return std::make_unique<EchoProvider>(options);
}

}  // namespace chat
