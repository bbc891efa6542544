// Issue 11: a reply's context window from cached token counts, read newest
// first until the budget is full (Store::list_context). Checked against a
// recount of every stored count, and against the window the code before it
// built (every history row listed, rebuilt as a Message and counted), which
// is kept here as the reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "chat/chat.hpp"
#include "service/context_window.hpp"
#include "service/service_fixture.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using svc_test::ScriptedProvider;

namespace {

constexpr const char* kQuestion = "What is AI?";

// Another rule with its own id (one token per byte), and one that is never
// cached (no id), both counting calls.
class ByteCounter final : public TokenCounter {
 public:
  explicit ByteCounter(std::string id) : id_(std::move(id)) {}
  std::int64_t count(std::string_view text) const override {
    ++calls;
    return static_cast<std::int64_t>(text.size());
  }
  std::string_view name() const override { return "bytes"; }
  bool exact() const override { return true; }
  std::string_view counter_id() const override { return id_; }
  std::int64_t max_token_bytes() const override { return 1; }
  mutable int calls = 0;

 private:
  std::string id_;
};

// The window as it was built before issue 11: up to 1,000 newest non-system
// rows listed as Messages, each eligible one counted, newest first until the
// first that does not fit.
struct Reference {
  std::vector<ChatTurn> turns;
  std::int64_t prompt_tokens = 0;
  std::size_t history_used = 0;
};

Reference reference_window(Store& store, std::int64_t conversation_id, const ServiceOptions& o,
                           const std::string& new_message, const TokenCounter& counter) {
  MessageQuery q;
  q.newest_first = true;
  q.include_system = false;
  q.limit = 1000;
  auto page = store.list_messages(conversation_id, q);
  REQUIRE(page.ok());
  Reference r;
  std::int64_t budget = o.context_tokens - o.reply_tokens;
  r.turns.push_back({Role::kSystem, o.default_system_prompt});
  budget -= counter.count(o.default_system_prompt);
  r.prompt_tokens += counter.count(o.default_system_prompt);
  const std::int64_t n_new = counter.count(new_message);
  budget -= n_new;
  r.prompt_tokens += n_new;
  std::vector<const Message*> picked;
  for (const auto& m : page->items) {  // newest first
    if (!detail::eligible_for_context(m)) continue;
    const std::int64_t n = counter.count(m.content);
    if (n > budget) break;
    budget -= n;
    r.prompt_tokens += n;
    picked.push_back(&m);
  }
  r.history_used = picked.size();
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) r.turns.push_back({(*it)->role, (*it)->content});
  r.turns.push_back({Role::kUser, new_message});
  return r;
}

struct Setup {
  std::shared_ptr<Store> store;
  std::shared_ptr<ScriptedProvider> llm = std::make_shared<ScriptedProvider>();
  std::shared_ptr<TokenCounter> counter;
  ServiceOptions options;
  std::unique_ptr<ChatService> svc;
  const Principal who = Principal::user("alice");

  explicit Setup(std::shared_ptr<TokenCounter> c, std::shared_ptr<Store> s = nullptr) : counter(std::move(c)) {
    if (!s) s = svc_test::open_service_store();
    store = std::move(s);
    llm->chunks = {"fine"};
    ServiceDeps deps;
    deps.store = store;
    deps.llm = llm;
    deps.tokens = counter;
    auto made = make_chat_service(deps, options);
    REQUIRE(made.ok());
    svc = std::move(made).value();
  }

  Conversation create() {
    auto c = svc->create_conversation(who, NewConversation{});
    REQUIRE(c.ok());
    return *c;
  }
  Message post(const Conversation& c, std::string content, Role role = Role::kUser) {
    NewMessage m;
    m.role = role;
    m.content = std::move(content);
    auto r = svc->post_message(who, ConversationKey::of_id(c.id), m);
    if (!r.ok()) FAIL("post failed: " << r.error().message);
    return r->message;
  }
  // Straight to the store: a row as an older libchat wrote it (no count),
  // or with a count made by `counter`.
  Message append_raw(const Conversation& c, std::string content, Role role = Role::kUser,
                     MessageStatus status = MessageStatus::kSent, std::optional<TokenCount> tokens = std::nullopt) {
    NewMessage m;
    m.role = role;
    m.content = std::move(content);
    m.status = status;
    m.content_tokens = std::move(tokens);
    auto r = store->append_message(c.id, m, from_millis(svc_test::kStartMs));
    REQUIRE(r.ok());
    return r->message;
  }

  // The reply's window (the turns the provider got, and the prompt tokens
  // the service counted) against the reference built just before it.
  void check_reply_matches_reference(const Conversation& c) {
    const auto ref = reference_window(*store, c.id, options, kQuestion, *counter);
    ReplyRequest r;
    r.content = kQuestion;
    auto out = svc->reply(who, ConversationKey::of_id(c.id), r);
    REQUIRE(out.ok());
    const auto got = llm->last_request().messages;
    REQUIRE(got.size() == ref.turns.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("turn " << i);
      CHECK(got[i].role == ref.turns[i].role);
      CHECK(got[i].content == ref.turns[i].content);
    }
    CHECK(out->usage.prompt_tokens == ref.prompt_tokens);
    CHECK(got.size() - 2 == ref.history_used);
  }
};

// Every live message of the conversation through list_context with
// `counter`'s id: each one must carry a count, equal to a recount.
std::size_t check_cached_counts(Store& store, std::int64_t conversation_id, const TokenCounter& counter) {
  ContextQuery q;
  q.counter = std::string(counter.counter_id());
  q.limit = 100000;
  auto rows = store.list_context(conversation_id, q);
  REQUIRE(rows.ok());
  for (const auto& m : *rows) {
    INFO("message " << m.id << ": " << m.content.substr(0, 40));
    REQUIRE(m.tokens.has_value());
    CHECK(*m.tokens == counter.count(m.content));
  }
  return rows->size();
}

// A small tiktoken rank file: every byte, and merges that make words of
// several bytes one token.
std::string rank_file_text() {
  auto b64 = [](const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                         static_cast<unsigned char>(in[i + 2]);
      for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
    }
    if (i < in.size()) {
      unsigned v = static_cast<unsigned char>(in[i]) << 16;
      if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
      out += k[(v >> 18) & 63];
      out += k[(v >> 12) & 63];
      out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  };
  std::string t;
  for (int b = 0; b < 256; ++b) t += b64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  const std::vector<std::string> merges = {"Wh", "at", "What", " i", " is", " A", " AI", "he", "ll", "hell", "hello"};
  for (std::size_t i = 0; i < merges.size(); ++i) t += b64(merges[i]) + " " + std::to_string(256 + i) + "\n";
  return t;
}

std::shared_ptr<TokenCounter> tiktoken_counter(const chat::testing::TempDir& dir) {
  const std::string path = dir.file("ranks.tiktoken");
  std::ofstream(path, std::ios::binary) << rank_file_text();
  auto c = make_tiktoken_counter(path, TiktokenEncoding::kCl100kBase);
  REQUIRE(c.ok());
  return std::shared_ptr<TokenCounter>(std::move(c).value());
}

std::string words(std::mt19937& rng, std::size_t min_words, std::size_t max_words) {
  static const std::vector<std::string> vocab = {"hello", "What", "is", "AI", "über", "naïve", "42", "x",
                                                 "tokens", "window", "line\nbreak", "日本語", "!", "budget"};
  std::uniform_int_distribution<std::size_t> n(min_words, max_words), w(0, vocab.size() - 1);
  std::string s;
  for (std::size_t i = n(rng); i > 0; --i) {
    if (!s.empty()) s += ' ';
    s += vocab[w(rng)];
  }
  return s;
}

}  // namespace

TEST_CASE("window: cached token counts agree with a recount", "[window]") {
  chat::testing::TempDir dir;
  const bool tiktoken = GENERATE(false, true);
  Setup s(tiktoken ? tiktoken_counter(dir) : std::shared_ptr<TokenCounter>(make_estimating_token_counter()));
  INFO("counter " << s.counter->counter_id());
  REQUIRE_FALSE(s.counter->counter_id().empty());
  auto c = s.create();
  std::mt19937 rng(7);
  for (int i = 0; i < 40; ++i) s.post(c, words(rng, 1, 60), i % 3 == 2 ? Role::kAssistant : Role::kUser);
  // Replies store the user message (with the window's count) and the answer.
  for (int i = 0; i < 3; ++i) {
    ReplyRequest r;
    r.content = words(rng, 1, 30);
    REQUIRE(s.svc->reply(s.who, ConversationKey::of_id(c.id), r).ok());
  }
  // An edit counts the new content.
  auto edited = s.post(c, "before the edit");
  MessagePatch p;
  p.content = "after the edit, with more words than before";
  REQUIRE(s.svc->edit_message(s.who, MessageKey::of_id(edited.id), p).ok());
  // Seed 003's support desk posts too.
  SupportPost sp;
  sp.content = "a support question about über tokens";
  auto support = s.svc->post_support_message(s.who, sp);
  REQUIRE(support.ok());

  CHECK(check_cached_counts(*s.store, c.id, *s.counter) == 40 + 6 + 1);
  CHECK(check_cached_counts(*s.store, support->conversation.id, *s.counter) == 1);
}

TEST_CASE("window: over 6,000 messages it equals the window built from every row", "[window]") {
  Setup s{std::shared_ptr<TokenCounter>(make_estimating_token_counter())};
  auto c = s.create();
  std::mt19937 rng(11);

  SECTION("short alternating turns: the 1,000-message cap") {
    for (int i = 0; i < 6000; ++i) s.post(c, i % 2 ? "Echo: What is AI?" : kQuestion, i % 2 ? Role::kAssistant : Role::kUser);
    s.check_reply_matches_reference(c);
    CHECK(s.llm->last_request().messages.size() == 1000 + 2);
  }
  SECTION("varied lengths: the token budget") {
    for (int i = 0; i < 6000; ++i) s.post(c, words(rng, 1, 120), i % 2 ? Role::kAssistant : Role::kUser);
    s.check_reply_matches_reference(c);
  }
  SECTION("rows that are not history among the newest: deleted, system, failed, empty, agent") {
    for (int i = 0; i < 6000; ++i) {
      const auto m = s.post(c, words(rng, 1, 80), i % 2 ? Role::kAssistant : Role::kUser);
      if (i > 5800 && i % 7 == 0) REQUIRE(s.svc->delete_message(s.who, MessageKey::of_id(m.id)).ok());
      if (i > 5800 && i % 11 == 0) s.append_raw(c, "system row " + std::to_string(i), Role::kSystem);
      if (i > 5800 && i % 13 == 0) s.append_raw(c, "failed row", Role::kAssistant, MessageStatus::kFailed);
      if (i > 5800 && i % 17 == 0) s.append_raw(c, "", Role::kAssistant);
      if (i > 5800 && i % 19 == 0) s.append_raw(c, "agent row", Role::kAgent);
    }
    s.check_reply_matches_reference(c);
  }
  SECTION("a long message stops the window where it stands") {
    for (int i = 0; i < 6000; ++i) {
      s.post(c, i == 5990 ? std::string(40000, 'L') : words(rng, 1, 20), i % 2 ? Role::kAssistant : Role::kUser);
    }
    s.check_reply_matches_reference(c);
    CHECK(s.llm->last_request().messages.size() == 9 + 2);
  }
  SECTION("counted, uncounted and another counter's rows mixed") {
    for (int i = 0; i < 6000; ++i) {
      std::string text = words(rng, 1, 100);
      if (i % 3 == 0) {
        s.post(c, std::move(text));
      } else if (i % 3 == 1) {
        s.append_raw(c, std::move(text));  // as an older libchat wrote it
      } else {
        // A count of 1 by another rule: must not be believed.
        s.append_raw(c, std::move(text), Role::kAssistant, MessageStatus::kSent, TokenCount{1, "other/1"});
      }
    }
    s.check_reply_matches_reference(c);
  }
}

TEST_CASE("window: another counter recounts, a counter without an id caches nothing", "[window]") {
  Setup first{std::shared_ptr<TokenCounter>(make_estimating_token_counter())};
  auto c = first.create();
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) first.post(c, words(rng, 1, 40), i % 2 ? Role::kAssistant : Role::kUser);
  check_cached_counts(*first.store, c.id, *first.counter);

  // The same store under another rule: no count of the first one is used.
  auto other = std::make_shared<ByteCounter>("bytes/1");
  Setup second(other, first.store);
  {
    ContextQuery q;
    q.counter = "bytes/1";
    q.limit = 1000;
    auto rows = second.store->list_context(c.id, q);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 200);
    for (const auto& m : *rows) CHECK_FALSE(m.tokens.has_value());
  }
  second.check_reply_matches_reference(c);
  // What the second one writes is cached under its id (the reply's two messages).
  ContextQuery q;
  q.counter = "bytes/1";
  q.limit = 2;
  auto newest = second.store->list_context(c.id, q);
  REQUIRE(newest.ok());
  REQUIRE(newest->size() == 2);
  for (const auto& m : *newest) CHECK(m.tokens == static_cast<std::int64_t>(m.content.size()));

  // No id: every window counts, nothing is stored.
  auto uncached = std::make_shared<ByteCounter>("");
  Setup third(uncached, first.store);
  third.check_reply_matches_reference(c);
  q.counter = "";
  q.limit = 3;
  auto rows = third.store->list_context(c.id, q);
  REQUIRE(rows.ok());
  for (const auto& m : *rows) CHECK_FALSE(m.tokens.has_value());
}

TEST_CASE("window: soft-deleted and cleared messages never enter it", "[window]") {
  Setup s{std::shared_ptr<TokenCounter>(make_estimating_token_counter())};
  auto c = s.create();
  s.post(c, "kept one");
  const auto gone = s.post(c, "deleted secret", Role::kAssistant);
  s.post(c, "kept two");
  REQUIRE(s.svc->delete_message(s.who, MessageKey::of_id(gone.id)).ok());
  ReplyRequest r;
  r.content = kQuestion;
  REQUIRE(s.svc->reply(s.who, ConversationKey::of_id(c.id), r).ok());
  auto turns = s.llm->last_request().messages;
  std::vector<std::string> texts;
  for (const auto& t : turns) texts.push_back(t.content);
  CHECK(texts == std::vector<std::string>{s.options.default_system_prompt, "kept one", "kept two", kQuestion});

  REQUIRE(s.svc->clear_conversation(s.who, ConversationKey::of_id(c.id)).ok());
  s.post(c, "after the clear");
  REQUIRE(s.svc->reply(s.who, ConversationKey::of_id(c.id), r).ok());
  turns = s.llm->last_request().messages;
  texts.clear();
  for (const auto& t : turns) texts.push_back(t.content);
  CHECK(texts == std::vector<std::string>{s.options.default_system_prompt, "after the clear", kQuestion});

  // The store read itself: nothing deleted, and a deleted conversation is not found.
  ContextQuery q;
  q.limit = 100;
  auto rows = s.store->list_context(c.id, q);
  REQUIRE(rows.ok());
  std::vector<std::string> stored;
  for (const auto& m : *rows) stored.push_back(m.content);
  CHECK(stored == std::vector<std::string>{"fine", kQuestion, "after the clear"});  // newest first
  REQUIRE(s.svc->delete_conversation(s.who, ConversationKey::of_id(c.id)).ok());
  CHECK(s.store->list_context(c.id, q).error().code == ErrorCode::kNotFound);
}

TEST_CASE("window: list_context pages newest first and stops at its limit", "[window]") {
  Setup s{std::shared_ptr<TokenCounter>(make_estimating_token_counter())};
  auto c = s.create();
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(s.post(c, "m" + std::to_string(i)).id);
  ContextQuery q;
  q.counter = "bytes/4";
  q.limit = 4;
  std::vector<std::int64_t> seen;
  for (;;) {
    auto batch = s.store->list_context(c.id, q);
    REQUIRE(batch.ok());
    for (const auto& m : *batch) seen.push_back(m.id);
    if (static_cast<std::int64_t>(batch->size()) < q.limit) break;
    q.before_id = batch->back().id;
  }
  std::reverse(ids.begin(), ids.end());
  CHECK(seen == ids);
  q.limit = -1;
  CHECK(s.store->list_context(c.id, q).error().field == "limit");
  NewMessage bad;
  bad.content = "x";
  bad.content_tokens = TokenCount{3, ""};
  CHECK(s.store->append_message(c.id, bad, from_millis(svc_test::kStartMs)).error().field == "content_tokens");
}

TEST_CASE("window: a message longer than the whole window is refused by its length, before any count", "[window]") {
  auto counter = std::make_shared<ByteCounter>("bytes/1");
  Setup s(counter);
  auto c = s.create();
  const std::int64_t window = s.options.context_tokens - s.options.reply_tokens;
  ReplyRequest r;
  r.content = std::string(static_cast<std::size_t>(window) + 1, 'x');
  const int before = counter->calls;
  auto out = s.svc->reply(s.who, ConversationKey::of_id(c.id), r);
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().code == ErrorCode::kInvalidArgument);
  CHECK(out.error().field == "content");
  CHECK(out.error().message.find("at least") != std::string::npos);
  CHECK(counter->calls - before <= 1);  // the system prompt only
  CHECK(s.llm->calls() == 0);

  // The bounds the counters promise.
  chat::testing::TempDir dir;
  auto tk = tiktoken_counter(dir);
  CHECK(tk->max_token_bytes() == 5);  // "hello", the longest token of the rank file
  CHECK(tk->counter_id().substr(0, 12) == "cl100k_base/");
  for (const std::string& text : std::vector<std::string>{"What is AI? hello hello", "x", "日本語 über", std::string(1000, 'a')}) {
    CHECK(tk->count(text) >= static_cast<std::int64_t>((text.size() + 4) / 5));
    CHECK(tk->count(text) <= static_cast<std::int64_t>(text.size()));  // valid UTF-8: a token is at least a byte
  }
  auto est = make_estimating_token_counter();
  CHECK(est->counter_id() == "bytes/4");
  CHECK(detail::over_budget_by_length(std::string(41, 'a'), 10, *est));
  CHECK_FALSE(detail::over_budget_by_length(std::string(40, 'a'), 10, *est));
}

TEST_CASE("window: a batch is read only as far as its bytes could still fit", "[window]") {
  // 100 short messages, older than them 1,000 of 64 KiB: the window asks for
  // batches no larger than 4 bytes a token times the budget left.
  std::vector<ContextMessage> newest_first;
  for (int i = 0; i < 100; ++i) newest_first.push_back({2000 - i, Role::kUser, "short one", std::nullopt});
  for (int i = 0; i < 1000; ++i) newest_first.push_back({1000 - i, Role::kUser, std::string(64 * 1024, 'z'), std::nullopt});
  std::size_t next = 0, bytes_read = 0;
  std::vector<std::size_t> bounds;
  const detail::HistoryReader reader = [&](std::int64_t limit, std::size_t max_bytes) -> Result<std::vector<ContextMessage>> {
    bounds.push_back(max_bytes);
    std::vector<ContextMessage> out;
    std::size_t bytes = 0;
    while (next < newest_first.size() && static_cast<std::int64_t>(out.size()) < limit &&
           (max_bytes == 0 || bytes <= max_bytes)) {
      bytes += newest_first[next].content.size();
      out.push_back(newest_first[next++]);
    }
    bytes_read += bytes;
    return out;
  };
  auto est = make_estimating_token_counter();
  detail::ContextParams p;
  p.new_message = kQuestion;
  auto w = detail::build_context_window(p, reader, *est);
  REQUIRE(w.ok());
  CHECK(w->history_used == 100);
  CHECK(w->history_truncated);
  for (const auto b : bounds) CHECK((b > 0 && b <= 4 * 8192));
  CHECK(bytes_read < 100 * 9 + 64 * 1024 + 64 * 1024);  // one large message read past the window, not 512
}
