// Bounded, cancellable model calls (issue 9): ServiceOptions::model_calls
// applied to any provider, ReplyRequest::stop, shutdown(), and the
// wait_for_messages stop token. Timings are generous bounds only.
#include <condition_variable>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "chat/text.hpp"
#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

// A provider that misbehaves on purpose, honouring the stop token as every
// provider must.
class MisbehavingProvider final : public LlmProvider {
 public:
  enum class Mode { kHang, kTrickle, kBig };
  Mode mode = Mode::kHang;
  std::string big;  // kBig: the whole answer (complete) or its chunks of 3 bytes (stream)

  std::string_view name() const override { return "misbehaving"; }

  Result<Completion> complete(const CompletionRequest& request) override {
    enter(request);
    if (mode == Mode::kBig) return done(big);
    pause(request.stop, 30s);
    return Error::unavailable("the model call was cancelled");
  }

  Result<Completion> stream(const CompletionRequest& request, const ChunkCallback& on_chunk) override {
    enter(request);
    if (mode == Mode::kHang) {
      pause(request.stop, 30s);
      return Error::unavailable("the model call was cancelled");
    }
    if (mode == Mode::kBig) {
      std::string sent;
      for (std::size_t i = 0; i < big.size(); i += 3) {
        if (!on_chunk(std::string_view(big).substr(i, 3))) return cancelled(sent);
        sent += big.substr(i, 3);
      }
      return done(sent);
    }
    std::string sent;  // kTrickle: one byte every 20 ms, forever
    for (;;) {
      if (!pause(request.stop, 20ms)) return Error::unavailable("the model call was cancelled");
      if (!on_chunk("x")) return cancelled(sent);
      sent += "x";
    }
  }

  int entered() const { return entered_.load(); }
  std::optional<std::int64_t> last_max_tokens() const {
    std::lock_guard lock(mu_);
    return last_max_tokens_;
  }

 private:
  void enter(const CompletionRequest& r) {
    {
      std::lock_guard lock(mu_);
      last_max_tokens_ = r.max_tokens;
    }
    ++entered_;
  }
  // False when the token was requested.
  static bool pause(const std::stop_token& stop, std::chrono::milliseconds d) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
  }
  static Completion done(std::string content) {
    Completion c;
    c.model = "m";
    c.content = std::move(content);
    c.finish_reason = "stop";
    return c;
  }
  static Completion cancelled(std::string content) {
    Completion c = done(std::move(content));
    c.finish_reason = "cancelled";
    return c;
  }

  std::atomic<int> entered_{0};
  mutable std::mutex mu_;
  std::optional<std::int64_t> last_max_tokens_;
};

ServiceOptions bounded(int max_concurrent, std::chrono::milliseconds deadline, std::chrono::milliseconds first,
                       std::size_t max_reply_bytes = 256 * 1024) {
  ServiceOptions o;
  o.model_calls.max_concurrent = max_concurrent;
  o.model_calls.deadline = deadline;
  o.model_calls.first_chunk_timeout = first;
  o.model_calls.max_reply_bytes = max_reply_bytes;
  return o;
}

std::vector<Message> messages_of(Fixture& f, const Conversation& c) {
  auto page = f.svc->list_messages(kAdmin, key(c), {});
  REQUIRE(page.ok());
  return page->items;
}

void wait_until(const std::function<bool()>& done) {
  const auto give_up = SteadyClock::now() + 20s;
  while (!done() && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
  REQUIRE(done());
}

std::string metadata_field(const Message& m, const std::string& name) {
  auto j = nlohmann::json::parse(m.metadata);
  return j.value(name, std::string());
}

ReplyRequest ask(std::string content) {
  ReplyRequest r;
  r.content = std::move(content);
  return r;
}

}  // namespace

TEST_CASE("model calls: beyond max_concurrent a reply is refused at once and stores nothing, shutdown cancels",
          "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();
  Fixture f(bounded(2, 60s, 60s), llm);
  const Conversation c = f.create(kAlice);

  auto r1 = std::async(std::launch::async, [&] { return f.svc->reply(kAlice, key(c), ask("one")); });
  auto r2 = std::async(std::launch::async, [&] {
    return f.svc->reply_stream(kAlice, key(c), ask("two"), [](const StreamEvent&) { return true; });
  });
  wait_until([&] { return llm->entered() == 2; });
  const auto stored = messages_of(f, c).size();

  const auto t0 = SteadyClock::now();
  auto busy = f.svc->reply(kAlice, key(c), ask("three"));
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().code == ErrorCode::kResourceExhausted);
  auto busy_stream = f.svc->reply_stream(kAlice, key(c), ask("four"), [](const StreamEvent&) { return true; });
  REQUIRE_FALSE(busy_stream.ok());
  CHECK(busy_stream.error().code == ErrorCode::kResourceExhausted);
  CHECK(SteadyClock::now() - t0 < 2s);
  CHECK(messages_of(f, c).size() == stored);  // "busy" changes nothing
  CHECK(llm->entered() == 2);

  // Shutdown cancels both hung calls: they return promptly, not after 30 s.
  const auto t1 = SteadyClock::now();
  f.svc->shutdown();
  REQUIRE(r1.wait_for(10s) == std::future_status::ready);
  REQUIRE(r2.wait_for(10s) == std::future_status::ready);
  CHECK(SteadyClock::now() - t1 < 10s);
  auto a = r1.get();
  auto b = r2.get();
  REQUIRE_FALSE(a.ok());
  REQUIRE_FALSE(b.ok());
  CHECK(a.error().code == ErrorCode::kUnavailable);
  CHECK(b.error().code == ErrorCode::kUnavailable);
  // No output: no answer stored (the user messages stay).
  for (const auto& m : messages_of(f, c)) CHECK(m.role == Role::kUser);
  // After shutdown, no new model call starts.
  auto later = f.svc->reply(kAlice, key(c), ask("five"));
  REQUIRE_FALSE(later.ok());
  CHECK(later.error().code == ErrorCode::kUnavailable);
}

TEST_CASE("model calls: a permit is given back when a call ends", "[service][model_calls]") {
  Fixture f(bounded(1, 60s, 60s));  // echo
  const Conversation c = f.create(kAlice);
  for (int i = 0; i < 5; ++i) {
    auto r = f.svc->reply(kAlice, key(c), ask("hi " + std::to_string(i)));
    REQUIRE(r.ok());
  }
  CoachStart s;  // a coach start that fails (unknown job) takes nothing either
  s.job_id = "nope";
  s.question = "q";
  CHECK(f.svc->start_coach_session(kAlice, s).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->reply(kAlice, key(c), ask("again")).ok());
}

TEST_CASE("model calls: the deadline ends a model that trickles bytes", "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();
  llm->mode = MisbehavingProvider::Mode::kTrickle;
  Fixture f(bounded(4, 400ms, 0ms), llm);
  const Conversation c = f.create(kAlice);
  std::string streamed;
  const auto t0 = SteadyClock::now();
  auto r = f.svc->reply_stream(kAlice, key(c), ask("go"), [&](const StreamEvent& e) {
    streamed += e.chunk;
    return true;
  });
  CHECK(SteadyClock::now() - t0 < 10s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kDeadlineExceeded);
  // What was produced is stored, failed.
  const auto all = messages_of(f, c);
  REQUIRE(all.size() == 2);
  CHECK(all[1].role == Role::kAssistant);
  CHECK(all[1].status == MessageStatus::kFailed);
  CHECK(all[1].content == streamed);
  CHECK_FALSE(streamed.empty());
}

TEST_CASE("model calls: no first chunk within first_chunk_timeout is a deadline, nothing stored",
          "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();  // hangs
  Fixture f(bounded(4, 60s, 300ms), llm);
  const Conversation c = f.create(kAlice);

  SECTION("stream") {
    const auto t0 = SteadyClock::now();
    auto r = f.svc->reply_stream(kAlice, key(c), ask("hello?"), [](const StreamEvent&) { return true; });
    CHECK(SteadyClock::now() - t0 < 10s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kDeadlineExceeded);
  }
  SECTION("a non-streamed answer must come whole within the first-chunk wait") {
    const auto t0 = SteadyClock::now();
    auto r = f.svc->reply(kAlice, key(c), ask("hello?"));
    CHECK(SteadyClock::now() - t0 < 10s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kDeadlineExceeded);
  }
  const auto all = messages_of(f, c);
  REQUIRE(all.size() == 1);
  CHECK(all[0].role == Role::kUser);
}

TEST_CASE("model calls: a reply is cut at max_reply_bytes, never inside a character", "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();
  llm->mode = MisbehavingProvider::Mode::kBig;
  // Two-byte characters, so a cut at an odd byte count must back off.
  for (int i = 0; i < 100; ++i) llm->big += "é";
  Fixture f(bounded(4, 60s, 60s, 11), llm);
  const Conversation c = f.create(kAlice);

  SECTION("complete") {
    auto r = f.svc->reply(kAlice, key(c), ask("talk"));
    REQUIRE(r.ok());
    CHECK(r->assistant_message.content == "ééééé");  // 10 bytes: the 6th character would end at byte 12
    CHECK(r->assistant_message.status == MessageStatus::kComplete);
    CHECK(metadata_field(r->assistant_message, "finish_reason") == "length");
  }
  SECTION("stream") {
    std::string streamed;
    auto r = f.svc->reply_stream(kAlice, key(c), ask("talk"), [&](const StreamEvent& e) {
      streamed += e.chunk;
      return true;
    });
    REQUIRE(r.ok());
    CHECK(streamed.size() <= 11);
    CHECK(is_valid_utf8(streamed));
    CHECK(r->assistant_message.content == streamed);
    CHECK(r->assistant_message.status == MessageStatus::kComplete);
    CHECK(metadata_field(r->assistant_message, "finish_reason") == "length");
  }
}

TEST_CASE("model calls: a request without max_tokens gets default_max_tokens", "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();
  llm->mode = MisbehavingProvider::Mode::kBig;
  llm->big = "ok";
  Fixture f({}, llm);
  const Conversation c = f.create(kAlice);
  REQUIRE(f.svc->reply(kAlice, key(c), ask("a")).ok());
  CHECK(llm->last_max_tokens() == 1024);
  ReplyRequest r = ask("b");
  r.max_tokens = 50;
  REQUIRE(f.svc->reply(kAlice, key(c), r).ok());
  CHECK(llm->last_max_tokens() == 50);
}

TEST_CASE("model calls: ReplyRequest::stop cancels a call in flight", "[service][model_calls]") {
  auto llm = std::make_shared<MisbehavingProvider>();
  Fixture f(bounded(4, 60s, 60s), llm);
  const Conversation c = f.create(kAlice);

  SECTION("a hung non-streamed reply: no answer stored") {
    std::stop_source stop;
    ReplyRequest r = ask("hello");
    r.stop = stop.get_token();
    auto done = std::async(std::launch::async, [&] { return f.svc->reply(kAlice, key(c), r); });
    wait_until([&] { return llm->entered() == 1; });
    const auto t0 = SteadyClock::now();
    stop.request_stop();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(SteadyClock::now() - t0 < 10s);
    auto out = done.get();
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == ErrorCode::kUnavailable);
    const auto all = messages_of(f, c);
    REQUIRE(all.size() == 1);  // the user message only
  }
  SECTION("a trickling stream: what was produced is stored as cancelled") {
    llm->mode = MisbehavingProvider::Mode::kTrickle;
    std::stop_source stop;
    ReplyRequest r = ask("hello");
    r.stop = stop.get_token();
    std::atomic<int> chunks{0};
    auto done = std::async(std::launch::async, [&] {
      return f.svc->reply_stream(kAlice, key(c), r, [&](const StreamEvent&) {
        ++chunks;
        return true;
      });
    });
    wait_until([&] { return chunks.load() >= 2; });
    stop.request_stop();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    (void)done.get();
    const auto all = messages_of(f, c);
    REQUIRE(all.size() == 2);
    CHECK(all[1].status == MessageStatus::kFailed);
    CHECK(metadata_field(all[1], "finish_reason") == "cancelled");
    CHECK_FALSE(all[1].content.empty());
  }
  SECTION("a token requested before the call: no model call, nothing stored") {
    std::stop_source stop;
    stop.request_stop();
    ReplyRequest r = ask("hello");
    r.stop = stop.get_token();
    auto out = f.svc->reply(kAlice, key(c), r);
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == ErrorCode::kUnavailable);
    CHECK(llm->entered() == 0);
    CHECK(messages_of(f, c).empty());
  }
}

TEST_CASE("model calls: the echo provider honours the stop token between chunks", "[llm][model_calls]") {
  auto echo = make_echo_provider(EchoOptions{std::chrono::milliseconds(10'000)});
  CompletionRequest req;
  req.messages = {{Role::kUser, "one two three"}};
  std::stop_source stop;
  req.stop = stop.get_token();
  auto done = std::async(std::launch::async, [&] { return echo->stream(req, [](std::string_view) { return true; }); });
  std::this_thread::sleep_for(50ms);
  stop.request_stop();
  REQUIRE(done.wait_for(5s) == std::future_status::ready);
  auto r = done.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kUnavailable);
}

TEST_CASE("wait_for_messages: a requested stop token ends the wait at once", "[service][wait][model_calls]") {
  Fixture f;
  const Conversation c = f.create(kAlice);

  SECTION("requested during the wait") {
    std::stop_source stop;
    auto done = std::async(std::launch::async,
                           [&] { return f.svc->wait_for_messages(kAlice, key(c), 0, 25s, stop.get_token()); });
    std::this_thread::sleep_for(100ms);
    const auto t0 = SteadyClock::now();
    stop.request_stop();
    REQUIRE(done.wait_for(5s) == std::future_status::ready);
    CHECK(SteadyClock::now() - t0 < 5s);
    auto r = done.get();
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
  SECTION("requested before: returns at once") {
    std::stop_source stop;
    stop.request_stop();
    const auto t0 = SteadyClock::now();
    auto r = f.svc->wait_for_messages(kAlice, key(c), 0, 25s, stop.get_token());
    CHECK(SteadyClock::now() - t0 < 5s);
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
  SECTION("messages already there still come back") {
    f.post(kAlice, c, "hi");
    std::stop_source stop;
    stop.request_stop();
    auto r = f.svc->wait_for_messages(kAlice, key(c), 0, 25s, stop.get_token());
    REQUIRE(r.ok());
    CHECK(r->size() == 1);
  }
}

TEST_CASE("make_chat_service refuses negative model-call bounds", "[service][model_calls]") {
  auto s = open_memory_store();
  REQUIRE(s.ok());
  ServiceDeps deps;
  deps.store = std::move(*s);
  ServiceOptions o;
  o.model_calls.max_concurrent = -1;
  auto made = make_chat_service(deps, o);
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().field == "model_calls");
}
