// live_server.hpp: an in-process chatd with the real ChatService over an
// in-memory store, on a free port, for HTTP-level tests of the seed APIs.
//
//   chatd_test::LiveServer s;                       // echo provider, ManualClock
//   auto alice = s.token("1");                      // bearer token for user "1"
//   auto r = s.post("/chat/conversations", {{"title", "t"}}, alice);
//   CHECK(r.status == 201);
//   CHECK(r.json["data"]["conversation_id"].is_number_integer());
//
// Every request opens its own httplib::Client, so tests may call from many
// threads. The clock starts at 2026-01-01T00:00:00Z and moves only when the
// test says (s.clock->advance(...)).
#pragma once

#include <httplib.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat.hpp"
#include "routes/routes.hpp"
#include "server.hpp"

namespace chatd_test {

struct LiveOptions {
  int threads = 64;
  int max_streams = 0;  // 0: the config default for `threads`
  std::size_t max_body_bytes = 1 << 20;
  // Rate limits and per-address stream shares are off unless a test asks:
  // every test request comes from 127.0.0.1 and the clock stands still.
  std::optional<chatd::RateLimitConfig> rate_limits;
  int max_streams_per_address = 1 << 20;
  bool public_metrics = false;
  std::shared_ptr<chat::LlmProvider> llm;  // null: echo
  chat::ServiceOptions service;
  std::vector<std::string> cors_origins;  // --cors-origins, normalized (cors.hpp)
  // --trusted-proxies ("127.0.0.1/32": the test's X-Forwarded-For names the client).
  std::string trusted_proxies;
  // --llm-max-concurrent-per-address; 0 (the default here): no share. The
  // global bound is service.model_calls.max_concurrent.
  int llm_max_concurrent_per_address = 0;
  // --max-event-streams (0: the default) and its per-address share (every test
  // client is 127.0.0.1).
  int max_event_streams = 0;
  int max_event_streams_per_address = 1 << 20;
};

struct HttpResult {
  int status = 0;  // 0: no response (connection error)
  std::string body;
  nlohmann::json json;  // parsed body (discarded value when not JSON)
  httplib::Headers headers;
};

class LiveServer {
 public:
  static constexpr const char* kSecret = "live-server-test-secret";

  explicit LiveServer(LiveOptions options = {})
      : clock(std::make_shared<chat::ManualClock>(chat::from_millis(1'767'225'600'000))) {
    auto store = chat::open_memory_store();
    REQUIRE(store.ok());
    chat::ServiceDeps deps;
    deps.store = std::move(*store);
    deps.clock = clock;
    deps.llm = options.llm;
    auto svc = chat::make_chat_service(std::move(deps), options.service);
    REQUIRE(svc.ok());
    service = std::move(*svc);
    chatd::Config config;
    config.port = 0;
    config.db = ":memory:";
    config.threads = options.threads;
    config.max_streams = options.max_streams;
    config.max_body_bytes = options.max_body_bytes;
    config.rate_limits.enabled = false;
    if (options.rate_limits) config.rate_limits = *options.rate_limits;
    config.max_streams_per_address = options.max_streams_per_address;
    config.public_metrics = options.public_metrics;
    config.cors_origins = options.cors_origins;
    config.trusted_proxies = options.trusted_proxies;
    config.llm_max_concurrent = options.service.model_calls.max_concurrent;
    config.llm_max_concurrent_per_address = options.llm_max_concurrent_per_address;
    config.max_event_streams = options.max_event_streams;
    config.max_event_streams_per_address = options.max_event_streams_per_address;
    server = std::make_unique<chatd::Server>(config, chatd::ServerDeps{service, kSecret, clock, nullptr});
    chatd::register_all_routes(server->router(), server->context());
    REQUIRE(server->start().ok());
    tokens = std::make_unique<chatd::JwtTokens>(kSecret, clock);
  }
  ~LiveServer() { server->stop(); }

  int port() const { return server->port(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(30, 0);
    return c;
  }

  // A bearer token for user `sub` with `role`, valid for an hour of the test clock.
  std::string token(const std::string& sub, chat::PrincipalRole role = chat::PrincipalRole::kUser) const {
    auto t = tokens->issue(chat::Principal{sub, role}, std::chrono::hours(1));
    REQUIRE(t.ok());
    return *t;
  }

  HttpResult get(const std::string& path, const std::string& bearer = {}) const {
    auto c = client();
    return wrap(c.Get(path.c_str(), headers(bearer)));
  }
  HttpResult del(const std::string& path, const std::string& bearer = {}) const {
    auto c = client();
    return wrap(c.Delete(path.c_str(), headers(bearer)));
  }
  HttpResult post(const std::string& path, const nlohmann::json& body, const std::string& bearer = {}) const {
    return send("POST", path, body.dump(), bearer);
  }
  HttpResult put(const std::string& path, const nlohmann::json& body, const std::string& bearer = {}) const {
    return send("PUT", path, body.dump(), bearer);
  }
  HttpResult patch(const std::string& path, const nlohmann::json& body, const std::string& bearer = {}) const {
    return send("PATCH", path, body.dump(), bearer);
  }
  // Any method with a raw body (invalid JSON, wrong types, ...).
  HttpResult send(const std::string& method, const std::string& path, const std::string& raw,
                  const std::string& bearer = {}) const {
    auto c = client();
    const auto h = headers(bearer);
    const char* type = "application/json";
    if (method == "POST") return wrap(c.Post(path.c_str(), h, raw, type));
    if (method == "PUT") return wrap(c.Put(path.c_str(), h, raw, type));
    if (method == "PATCH") return wrap(c.Patch(path.c_str(), h, raw, type));
    if (method == "DELETE") return wrap(c.Delete(path.c_str(), h, raw, type));
    FAIL("unsupported method " << method);
    return {};
  }

  std::shared_ptr<chat::ManualClock> clock;
  std::shared_ptr<chat::ChatService> service;
  std::unique_ptr<chatd::Server> server;

 private:
  static httplib::Headers headers(const std::string& bearer) {
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    return h;
  }
  static HttpResult wrap(const httplib::Result& r) {
    HttpResult out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    out.json = nlohmann::json::parse(r->body, nullptr, false);
    return out;
  }

  std::unique_ptr<chatd::JwtTokens> tokens;
};

}  // namespace chatd_test
