// Issue 9 through chatd: model calls bounded (429 beyond --llm-max-concurrent
// while the rest of the API stays fast; 504 past the first-byte wait), a stop
// with a hung model returning promptly, and a long-poll ending when its
// request's stop token is requested. Timings are generous bounds only.
#include <catch2/catch.hpp>

#include <future>

#include "chat/openai_provider.hpp"
#include "config.hpp"
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

TEST_CASE("model bounds: --llm-max-concurrent-per-address, default an eighth of the global bound",
          "[model_bounds]") {
  chatd::Config c;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 8);  // 64 / 8
  c.llm_max_concurrent = 4;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 1);  // at least 1
  c.llm_max_concurrent = 0;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 0);  // no global bound: no default share
  c.llm_max_concurrent_per_address = 5;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 5);
  c.llm_max_concurrent = 5;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 0);  // equal to the global: no share
  c.llm_max_concurrent_per_address = 0;
  CHECK(chatd::effective_llm_max_concurrent_per_address(c) == 0);

  auto inv = chatd::parse_command_line({"--llm-max-concurrent-per-address", "3"},
                                       {{"CHATD_LLM_MAX_CONCURRENT", "12"}});
  REQUIRE(inv.ok());
  CHECK(inv->config.llm_max_concurrent_per_address == 3);
  CHECK(chatd::effective_llm_max_concurrent_per_address(inv->config) == 3);
  auto env = chatd::parse_command_line({}, {{"CHATD_LLM_MAX_CONCURRENT_PER_ADDRESS", "0"}});
  REQUIRE(env.ok());
  CHECK(env->config.llm_max_concurrent_per_address == 0);
  for (const char* bad : {"-1", "x", "100001"}) {
    INFO(bad);
    CHECK_FALSE(chatd::parse_command_line({"--llm-max-concurrent-per-address", bad}, {}).ok());
  }
  CHECK_THAT(chatd::usage_text(), Catch::Contains("--llm-max-concurrent-per-address"));
}

// Issue 9 review: one address could start as many model calls as its burst
// allows, so two addresses against a hung model held every slot of the global
// bound. Each address now has a share (--llm-max-concurrent-per-address).
TEST_CASE("model bounds: one address past its share of model calls gets 429, another still gets a call",
          "[http][model_bounds]") {
  HungModel model;
  chatd_test::LiveOptions o;
  o.llm = model.provider();
  o.service.default_model = "m";
  o.service.model_calls.max_concurrent = 6;
  o.service.model_calls.first_chunk_timeout = 60s;  // the test releases the model long before
  o.llm_max_concurrent_per_address = 2;
  o.trusted_proxies = "127.0.0.1/32";  // X-Forwarded-For names the client
  auto s = std::make_unique<chatd_test::LiveServer>(o);
  REQUIRE(s->post("/api/chats/sessions/", {{"session_id", "hung"}}).status == 201);
  const auto alice = s->token("1");
  auto conv = s->post("/chat/conversations", {{"title", "t"}}, alice);
  REQUIRE(conv.status == 201);
  const auto ai_path =
      "/chat/conversations/" + std::to_string(conv.json["data"]["conversation_id"].get<std::int64_t>()) + "/ai-response";

  const auto from = [&s](const std::string& address, const std::string& path, const json& body,
                         const std::string& bearer = {}) {
    auto c = s->client();
    httplib::Headers h{{"X-Forwarded-For", address}};
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    chatd_test::HttpResult out;
    auto r = c.Post(path.c_str(), h, body.dump(), "application/json");
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    out.json = json::parse(r->body, nullptr, false);
    return out;
  };
  const auto stored = [&s] {
    auto r = s->get("/api/chats/messages/?session_id=hung");
    REQUIRE(r.status == 200);
    return r.json.size();
  };
  const std::string a = "203.0.113.1";
  const std::string b = "198.51.100.7";

  // Address a takes its share: a reply and a stream (held for the stream's lifetime).
  std::vector<std::future<chatd_test::HttpResult>> hung;
  hung.push_back(std::async(std::launch::async, [&] {
    return from(a, "/api/chats/messages/chat/", {{"session_id", "hung"}, {"message", "q1"}});
  }));
  hung.push_back(std::async(std::launch::async, [&] {
    return from(a, "/api/chats/messages/chat/stream/", {{"session_id", "hung"}, {"message", "q2"}});
  }));
  wait_until([&] { return model.entered->load() == 2; });
  const auto before = stored();

  // Beyond its share, on every model route: 429 at once, the JSON body, nothing stored.
  for (const auto& path : {"/api/chats/messages/chat/", "/api/chats/messages/chat/stream/"}) {
    auto r = from(a, path, {{"session_id", "hung"}, {"message", "more"}});
    INFO(path << ": " << r.body);
    CHECK(r.status == 429);
    CHECK(r.headers.count("Retry-After") == 1);
    CHECK(r.json["success"] == false);
    CHECK(r.json["error"]["code"] == "resource_exhausted");
  }
  CHECK(from(a, ai_path, json::object(), alice).status == 429);
  CHECK(stored() == before);
  CHECK(model.entered->load() == 2);
  // Plain writes from a still pass: only model calls are shared out.
  CHECK(from(a, "/api/chats/messages/", {{"session_id", "hung"}, {"message", "typed"}}).status == 201);

  // Another address still gets a model call while a holds its share.
  hung.push_back(std::async(std::launch::async, [&] {
    return from(b, "/api/chats/messages/chat/", {{"session_id", "hung"}, {"message", "from b"}});
  }));
  wait_until([&] { return model.entered->load() == 3; });

  auto m = s->get("/metrics");
  CHECK(m.body.find("chatd_model_calls_refused_total{reason=\"share\"} 3") != std::string::npos);
  CHECK(m.body.find("chatd_llm_max_concurrent_per_address 2") != std::string::npos);

  // Released, every call ends and gives its slot back: a may call again.
  *model.released = true;
  for (auto& f : hung) {
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    CHECK(f.get().status == 200);
  }
  CHECK(from(a, "/api/chats/messages/chat/", {{"session_id", "hung"}, {"message", "again"}}).status == 200);
  s.reset();
}
