// The OpenAI-compatible provider under CompletionRequest::stop (issue 9): a
// model server that hangs is abandoned promptly, not at the read timeout.
#include <catch2/catch.hpp>

#include <future>

#include "chat/openai_provider.hpp"
#include "llm/fake_openai.hpp"

using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

// Holds a request until released (or 20 s), so that the fake server can stop.
struct Hang {
  std::shared_ptr<std::atomic<bool>> released = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> entered = std::make_shared<std::atomic<int>>(0);
  test_llm::Reply reply() const {
    return [released = released, entered = entered](const httplib::Request&, httplib::Response& res) {
      ++*entered;
      const auto give_up = SteadyClock::now() + 20s;
      while (!released->load() && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
      res.status = 200;
      res.set_content(test_llm::completion_json("late"), "application/json");
    };
  }
};
struct Release {
  Hang& hang;
  ~Release() { *hang.released = true; }
};

std::unique_ptr<chat::LlmProvider> provider(const std::string& base) {
  chat::OpenAiOptions o;
  o.base_url = base;
  o.model = "m";
  o.read_timeout = 30s;  // far beyond what the tests wait
  auto p = chat::make_openai_provider(o);
  REQUIRE(p.ok());
  return std::move(*p);
}

chat::CompletionRequest hello(std::stop_token stop) {
  chat::CompletionRequest r;
  r.messages = {{chat::Role::kUser, "hello"}};
  r.stop = std::move(stop);
  return r;
}

}  // namespace

TEST_CASE("openai provider: a stop requested while the server hangs ends the call promptly", "[llm][openai][cancel]") {
  test_llm::FakeOpenAi fake;
  Hang hang;
  Release release{hang};
  fake.then(hang.reply());
  auto llm = provider(fake.base_url());

  const bool streaming = GENERATE(false, true);
  std::stop_source stop;
  auto done = std::async(std::launch::async, [&] {
    auto req = hello(stop.get_token());
    return streaming ? llm->stream(req, [](std::string_view) { return true; }) : llm->complete(req);
  });
  const auto give_up = SteadyClock::now() + 10s;
  while (hang.entered->load() == 0 && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
  REQUIRE(hang.entered->load() == 1);
  const auto t0 = SteadyClock::now();
  stop.request_stop();
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(SteadyClock::now() - t0 < 10s);
  auto r = done.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == chat::ErrorCode::kUnavailable);
  CHECK(r.error().message == "the model call was cancelled");
}

TEST_CASE("openai provider: a stop requested before the call sends nothing", "[llm][openai][cancel]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::json_reply(200, test_llm::completion_json("hi")));
  auto llm = provider(fake.base_url());
  std::stop_source stop;
  stop.request_stop();
  auto r = llm->complete(hello(stop.get_token()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == chat::ErrorCode::kUnavailable);
  CHECK(fake.hits() == 0);
  // An unrequested token changes nothing.
  auto ok = llm->complete(hello({}));
  REQUIRE(ok.ok());
  CHECK(ok->content == "hi");
}

TEST_CASE("openai provider: a stop during the retry backoff ends the wait", "[llm][openai][cancel]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::status(503, "", {{"Retry-After", "8"}}));
  chat::OpenAiOptions o;
  o.base_url = fake.base_url();
  o.model = "m";
  o.max_retry_after = 10s;
  auto p = chat::make_openai_provider(o);
  REQUIRE(p.ok());
  std::stop_source stop;
  auto done = std::async(std::launch::async, [&] { return (*p)->complete(hello(stop.get_token())); });
  const auto give_up = SteadyClock::now() + 10s;
  while (fake.hits() == 0 && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(50ms);
  stop.request_stop();
  REQUIRE(done.wait_for(5s) == std::future_status::ready);
  auto r = done.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == chat::ErrorCode::kUnavailable);
  CHECK(fake.hits() == 1);
}
