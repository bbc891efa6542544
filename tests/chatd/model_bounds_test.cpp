// Issue 9 through chatd: model calls bounded (429 beyond --llm-max-concurrent
// while the rest of the API stays fast; 504 past the first-byte wait), a stop
// with a hung model returning promptly, and a long-poll ending when its
// request's stop token is requested. Timings are generous bounds only.
#include <catch2/catch.hpp>

#include <future>

#include "chat/openai_provider.hpp"
#include "chatd/live_server.hpp"
#include "llm/fake_openai.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

// A model server that holds every request until released (or 20 s).
struct HungModel {
  test_llm::FakeOpenAi fake;
  std::shared_ptr<std::atomic<bool>> released = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> entered = std::make_shared<std::atomic<int>>(0);
  HungModel() {
    fake.then([released = released, entered = entered](const httplib::Request&, httplib::Response& res) {
      ++*entered;
      const auto give_up = SteadyClock::now() + 20s;
      while (!released->load() && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
      res.status = 200;
      res.set_content(test_llm::completion_json("late"), "application/json");
    });
  }
  ~HungModel() { *released = true; }  // before fake's own destructor joins its handlers
  std::shared_ptr<chat::LlmProvider> provider() const {
    chat::OpenAiOptions o;
    o.base_url = fake.base_url();
    o.model = "m";
    o.read_timeout = 30s;
    o.max_retries = 0;
    auto p = chat::make_openai_provider(o);
    REQUIRE(p.ok());
    return std::shared_ptr<chat::LlmProvider>(std::move(*p));
  }
};

void wait_until(const std::function<bool()>& done) {
  const auto give_up = SteadyClock::now() + 20s;
  while (!done() && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
  REQUIRE(done());
}

template <class F>
std::chrono::duration<double> timed(F&& f) {
  const auto t0 = SteadyClock::now();
  f();
  return SteadyClock::now() - t0;
}

}  // namespace

TEST_CASE("model bounds: a hung model with many callers: 429 beyond the bound, the API stays fast, stop is prompt",
          "[http][model_bounds]") {
  HungModel model;
  chatd_test::LiveOptions o;
  o.llm = model.provider();
  o.service.default_model = "m";
  o.service.model_calls.max_concurrent = 3;
  o.service.model_calls.first_chunk_timeout = 60s;  // the test stops the server long before
  auto s = std::make_unique<chatd_test::LiveServer>(o);
  REQUIRE(s->post("/api/chats/sessions/", {{"session_id", "hung"}}).status == 201);
  const auto alice = s->token("1");
  REQUIRE(s->post("/chat/conversations", {{"title", "t"}}, alice).status == 201);

  std::vector<std::future<chatd_test::HttpResult>> hung;
  for (int i = 0; i < 3; ++i)
    hung.push_back(std::async(std::launch::async, [&s, i] {
      return s->post("/api/chats/messages/chat/", {{"session_id", "hung"}, {"message", "q" + std::to_string(i)}});
    }));
  wait_until([&] { return model.entered->load() == 3; });

  // Beyond the bound: 429 at once, with Retry-After, from many callers at once.
  std::vector<std::future<chatd_test::HttpResult>> busy;
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < 16; ++i)
    busy.push_back(std::async(std::launch::async, [&s] {
      return s->post("/api/chats/messages/chat/", {{"session_id", "hung"}, {"message", "more"}});
    }));
  for (auto& f : busy) {
    auto r = f.get();
    CHECK(r.status == 429);
    CHECK(r.headers.count("Retry-After") == 1);
    CHECK(r.json["error"]["code"] == "resource_exhausted");
  }
  CHECK(SteadyClock::now() - t0 < 5s);
  CHECK(model.entered->load() == 3);

  // The rest of the API does not wait for the model.
  CHECK(timed([&] { CHECK(s->get("/healthz").status == 200); }) < 1s);
  CHECK(timed([&] { CHECK(s->get("/chat/conversations", alice).status == 200); }) < 1s);

  // Stopping (what SIGTERM does) cancels the hung calls rather than waiting for them.
  const auto stop_took = timed([&] { s->server->stop(); });
  CHECK(stop_took < 10s);
  for (auto& f : hung) REQUIRE(f.wait_for(10s) == std::future_status::ready);
  s.reset();
}

TEST_CASE("model bounds: past the first-byte wait a reply answers 504, a stream an error event",
          "[http][model_bounds]") {
  HungModel model;
  chatd_test::LiveOptions o;
  o.llm = model.provider();
  o.service.default_model = "m";
  o.service.model_calls.first_chunk_timeout = 300ms;
  chatd_test::LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "slow"}}).status == 201);

  auto r = s.post("/api/chats/messages/chat/", {{"session_id", "slow"}, {"message", "hello?"}});
  CHECK(r.status == 504);
  CHECK(r.json["error"]["code"] == "deadline_exceeded");

  auto st = s.post("/api/chats/messages/chat/stream/", {{"session_id", "slow"}, {"message", "hello?"}});
  CHECK(st.status == 200);
  CHECK(st.body.find("\"done\":true") != std::string::npos);  // the error event
  CHECK(st.body.find("deadline_exceeded") != std::string::npos);
}

TEST_CASE("model bounds: a long-poll ends at once when its request's stop token is requested",
          "[http][model_bounds][seed002]") {
  chatd_test::LiveServer s;
  auto first = s.post("/api/messages/", {{"content", "Hello"}});
  REQUIRE(first.status == 200);
  const std::string uuid = first.json["items"][0]["conversation"];
  const std::string path = "/api/messages/" + uuid + "/";

  auto match = s.server->router().match("GET", path);
  REQUIRE(match.kind == chatd::RouteMatch::Kind::kFound);
  httplib::Request req;
  req.method = "GET";
  req.path = path;
  req.params.emplace("since", std::to_string(first.json["items"][0]["id"].get<std::int64_t>()));
  req.params.emplace("wait", "25");
  std::stop_source stop;
  chatd::RequestScope scope;
  scope.stop = stop.get_token();
  httplib::Response res;
  auto done = std::async(std::launch::async, [&] { (*match.handler)(req, res, match.params, scope); });
  REQUIRE(done.wait_for(200ms) == std::future_status::timeout);  // it is waiting
  const auto t0 = SteadyClock::now();
  stop.request_stop();  // what the connection does when the client hangs up
  REQUIRE(done.wait_for(5s) == std::future_status::ready);
  CHECK(SteadyClock::now() - t0 < 5s);
  CHECK(res.status == 200);
  CHECK(json::parse(res.body)["count"] == 0);
}
