// In-process chatd server on port 0 with test routes, against httplib::Client.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "chatd/stub_service.hpp"
#include "chatd/wait.hpp"
#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"
#include "server.hpp"
#include "signals.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "server-test-secret";

class CapturingLogger : public chat::Logger {
 public:
  void log(chat::LogLevel, std::string_view message) override {
    {
      std::lock_guard lock(mu_);
      lines_.emplace_back(message);
    }
    cv_.notify_all();
  }
  bool enabled(chat::LogLevel) const override { return true; }
  // Waits for the line: httplib logs a request after writing its response.
  bool saw(std::string_view needle) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 1s, [&] {
      for (const auto& l : lines_) {
        if (l.find(needle) != std::string::npos) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// A service whose get_conversation answers what the test sets.
class Service : public chatd_test::StubChatService {
 public:
  chat::Result<chat::Conversation> get_conversation(const chat::Principal& who,
                                                    const chat::ConversationKey& key) override {
    if (key.id == 1) {
      chat::Conversation c;
      c.id = 1;
      c.user_id = who.user_id;
      return c;
    }
    if (key.id == 2) return chat::Error::gone("expired");
    return StubChatService::get_conversation(who, key);
  }
};

struct TestServer {
  std::shared_ptr<Service> service = std::make_shared<Service>();
  std::shared_ptr<chat::ManualClock> clock =
      std::make_shared<chat::ManualClock>(chat::from_millis(1'800'000'000'000));
  std::shared_ptr<CapturingLogger> logger = std::make_shared<CapturingLogger>();
  std::unique_ptr<chatd::Server> server;
  chatd_test::Signal slow_entered;
  std::atomic<bool> slow_finished{false};

  explicit TestServer(std::size_t max_body = 1024) {
    chatd::Config config;
    config.port = 0;
    config.threads = 8;
    config.max_body_bytes = max_body;
    server = std::make_unique<chatd::Server>(config, chatd::ServerDeps{service, kSecret, clock, logger});
    chatd::register_all_routes(server->router(), server->context());
    add_test_routes(server->router(), server->context());
    auto st = server->start();
    REQUIRE(st.ok());
    REQUIRE(server->port() > 0);
  }

  void add_test_routes(chatd::Router& r, const chatd::RouteContext& ctx) {
    using chatd::PathParams;
    using chatd::RequestScope;
    using Req = httplib::Request;
    using Res = httplib::Response;
    r.post("/test/echo/", [](const Req& req, Res& res, const PathParams&, const RequestScope&) {
      auto body = chatd::parse_json_object(req);
      if (!body) return chatd::render_error(res, body.error());
      auto content = chatd::required_string(*body, "content");
      if (!content) return chatd::render_error(res, content.error());
      chatd::render_json(res, 201, {{"content", *content}, {"bytes", req.body.size()}});
    });
    r.del("/test/echo", [](const Req& req, Res& res, const PathParams&, const RequestScope&) {
      chatd::render_json(res, 200, {{"deleted", true}, {"bytes", req.body.size()}});
    });
    r.get("/test/protected", [&ctx](const Req& req, Res& res, const PathParams&, const RequestScope&) {
      auto who = ctx.authenticate_required(req, res);
      if (!who) return;
      chatd::render_json(res, 200, {{"user", who->user_id}, {"role", chat::to_string(who->role)}});
    });
    r.get("/test/agents-only", [&ctx](const Req& req, Res& res, const PathParams&, const RequestScope&) {
      auto who = ctx.authenticate_required(req, res, chat::PrincipalRole::kAgent);
      if (!who) return;
      chatd::render_json(res, 200, {{"user", who->user_id}});
    });
    r.get("/test/optional", [&ctx](const Req& req, Res& res, const PathParams&, const RequestScope&) {
      auto who = ctx.authenticate_optional(req, res);
      if (!who) return;
      chatd::render_json(res, 200, {{"anonymous", who->is_anonymous()}, {"user", who->user_id}});
    });
    r.get("/test/conversations/{id}", [&ctx](const Req& req, Res& res, const PathParams& p, const RequestScope&) {
      auto who = ctx.authenticate_optional(req, res);
      if (!who) return;
      auto id = std::stoll(std::string(p.get("id")));
      auto c = ctx.service.get_conversation(*who, chat::ConversationKey::of_id(id));
      if (!c) return chatd::render_error(res, c.error());
      chatd::render_json(res, 200, {{"id", c->id}});
    });
    r.get("/test/slow", [this](const Req&, Res& res, const PathParams&, const RequestScope&) {
      slow_entered.set();
      std::this_thread::sleep_for(600ms);
      slow_finished = true;
      chatd::render_json(res, 200, {{"slow", true}});
    });
    r.get("/test/throw", [](const Req&, Res&, const PathParams&, const RequestScope&) { throw std::runtime_error("bug"); });
  }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    c->set_read_timeout(10, 0);
    return c;
  }

  std::string token(const std::string& sub, chat::PrincipalRole role) const {
    auto t = server->context().tokens.issue(chat::Principal{sub, role}, std::chrono::seconds(60));
    REQUIRE(t.ok());
    return *t;
  }
};

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  return json::parse(r->body);
}

void check_error(const httplib::Result& r, int status, const std::string& code) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  auto b = body_of(r);
  CHECK(b["success"] == false);
  CHECK(b["error"]["code"] == code);
  CHECK(b["message"].is_string());
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Sends raw bytes on a fresh connection and returns everything the server answers.
std::string raw_exchange(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos && out.find("Connection: close") == std::string::npos &&
        out.find("}") != std::string::npos) {
      break;  // a complete small JSON answer on a kept-alive connection
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("server: /healthz answers 200 {\"status\": \"ok\"}", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  for (const char* path : {"/healthz", "/healthz/"}) {
    auto r = cli->Get(path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(body_of(r) == json{{"status", "ok"}});
  }
  auto head = cli->Head("/healthz");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(ts.logger->saw("http GET /healthz 200 "));
}

TEST_CASE("server: unknown path is 404 JSON, for every method", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  check_error(cli->Get("/nope"), 404, "not_found");
  check_error(cli->Post("/nope", "{}", "application/json"), 404, "not_found");
  check_error(cli->Delete("/nope"), 404, "not_found");
  check_error(cli->Get("/healthz/extra"), 404, "not_found");
  CHECK_THAT(body_of(cli->Get("/nope"))["message"].get<std::string>(), Catch::Contains("/nope"));
}

TEST_CASE("server: wrong method on a known path is 405 JSON with Allow", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto r = cli->Post("/healthz", "", "application/json");
  check_error(r, 405, "method_not_allowed");
  CHECK(r->get_header_value("Allow") == "GET, HEAD, OPTIONS");
  auto d = cli->Delete("/test/echo/");
  REQUIRE(d);
  CHECK(d->status == 200);  // DELETE exists there
  auto g = cli->Get("/test/echo");
  check_error(g, 405, "method_not_allowed");
  CHECK(g->get_header_value("Allow") == "DELETE, OPTIONS, POST");
  auto p = cli->Put("/test/echo", "{}", "application/json");
  check_error(p, 405, "method_not_allowed");

  // OPTIONS answers the Allow list; TRACE (which httplib parses but never routes) is 405 too.
  auto o = cli->Options("/test/echo");
  REQUIRE(o);
  CHECK(o->status == 204);
  CHECK(o->get_header_value("Allow") == "DELETE, OPTIONS, POST");
  httplib::Request trace;
  trace.method = "TRACE";
  trace.path = "/healthz";
  auto t = cli->send(trace);
  check_error(t, 405, "method_not_allowed");
  trace.path = "/nope";
  check_error(cli->send(trace), 404, "not_found");
}

TEST_CASE("server: body over --max-body-bytes is 413 JSON", "[chatd][http]") {
  TestServer ts(/*max_body=*/1024);
  auto cli = ts.client();
  cli->set_keep_alive(true);
  const std::string big = "{\"content\": \"" + std::string(2000, 'x') + "\"}";
  SECTION("with Content-Length") {
    auto r = cli->Post("/test/echo", big, "application/json");
    check_error(r, 413, "payload_too_large");
    CHECK_THAT(body_of(r)["message"].get<std::string>(), Catch::Contains("1024"));
  }
  SECTION("chunked, which httplib 0.11.4 does not limit by itself") {
    auto r = cli->Post(
        "/test/echo",
        [&](size_t offset, httplib::DataSink& sink) {
          if (offset < big.size()) {
            sink.write(big.data() + offset, std::min<std::size_t>(100, big.size() - offset));
          } else {
            sink.done();
          }
          return true;
        },
        "application/json");
    check_error(r, 413, "payload_too_large");
  }
  SECTION("to an unknown path") { check_error(cli->Post("/nope", big, "application/json"), 413, "payload_too_large"); }
  // The connection (or a new one) still serves.
  auto after = cli->Post("/test/echo/", R"({"content": "small"})", "application/json");
  REQUIRE(after);
  CHECK(after->status == 201);
  CHECK(body_of(after)["content"] == "small");
  // Exactly at the limit is fine.
  std::string exact = R"({"content": ")" + std::string(1024 - 15, 'y') + "\"}";
  REQUIRE(exact.size() == 1024);
  auto at_limit = cli->Post("/test/echo", exact, "application/json");
  REQUIRE(at_limit);
  CHECK(at_limit->status == 201);
}

TEST_CASE("server: bad JSON bodies are 400 naming the problem", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto r = cli->Post("/test/echo", "{\"content\": ", "application/json");
  check_error(r, 400, "invalid_argument");
  CHECK_THAT(body_of(r)["message"].get<std::string>(), Catch::StartsWith("invalid JSON body"));

  auto missing = cli->Post("/test/echo", "{}", "application/json");
  check_error(missing, 400, "invalid_argument");
  CHECK(body_of(missing)["error"]["field"] == "content");

  auto wrong = cli->Post("/test/echo", R"({"content": 5})", "application/json");
  check_error(wrong, 400, "invalid_argument");
  CHECK(body_of(wrong)["message"] == "content: must be a string");

  check_error(cli->Post("/test/echo", "[]", "application/json"), 400, "invalid_argument");
  check_error(cli->Post("/test/echo", "", "application/json"), 400, "invalid_argument");
  // A multipart body is read (not a crash) and is not JSON.
  httplib::MultipartFormDataItems items = {{"content", "hi", "", ""}};
  check_error(cli->Post("/test/echo", items), 400, "invalid_argument");
}

TEST_CASE("server: trailing slash accepted both ways", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  for (const char* path : {"/test/echo", "/test/echo/"}) {
    auto r = cli->Post(path, R"({"content": "hi"})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 201);
  }
  auto t = ts.token("5", chat::PrincipalRole::kUser);
  for (const char* path : {"/test/protected", "/test/protected/"}) {
    auto r = cli->Get(path, bearer(t));
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("server: protected routes: 401 without or with a bad token, 403 for a low role", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto none = cli->Get("/test/protected");
  check_error(none, 401, "unauthenticated");
  CHECK(none->get_header_value("WWW-Authenticate") == "Bearer");

  check_error(cli->Get("/test/protected", bearer("garbage")), 401, "unauthenticated");
  check_error(cli->Get("/test/protected", {{"Authorization", "Basic dXNlcjpwYXNz"}}), 401, "unauthenticated");
  check_error(cli->Get("/test/protected", {{"Authorization", "Bearer"}}), 401, "unauthenticated");

  chatd::JwtTokens other("other-secret", ts.clock);
  auto forged = other.issue(chat::Principal::admin("1"), std::chrono::seconds(60));
  check_error(cli->Get("/test/protected", bearer(*forged)), 401, "unauthenticated");

  auto user = ts.token("7", chat::PrincipalRole::kUser);
  auto ok = cli->Get("/test/protected", bearer(user));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(body_of(ok) == json{{"user", "7"}, {"role", "user"}});
  CHECK(cli->Get("/test/protected", {{"Authorization", "bearer " + user}})->status == 200);

  auto low = cli->Get("/test/agents-only", bearer(user));
  check_error(low, 403, "permission_denied");
  CHECK(cli->Get("/test/agents-only", bearer(ts.token("8", chat::PrincipalRole::kAgent)))->status == 200);
  CHECK(cli->Get("/test/agents-only", bearer(ts.token("9", chat::PrincipalRole::kAdmin)))->status == 200);

  // Expiry follows the injected clock.
  ts.clock->advance(61s);
  auto expired = cli->Get("/test/protected", bearer(user));
  check_error(expired, 401, "unauthenticated");
  CHECK_THAT(body_of(expired)["message"].get<std::string>(), Catch::Contains("expired"));
}

TEST_CASE("server: optional auth: anonymous without a header, 401 with a bad one", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto anon = cli->Get("/test/optional");
  REQUIRE(anon);
  CHECK(anon->status == 200);
  CHECK(body_of(anon)["anonymous"] == true);
  auto user = cli->Get("/test/optional", bearer(ts.token("3", chat::PrincipalRole::kUser)));
  CHECK(body_of(user)["user"] == "3");
  check_error(cli->Get("/test/optional", bearer("x.y.z")), 401, "unauthenticated");
}

TEST_CASE("server: service errors go through the one status table", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto found = cli->Get("/test/conversations/1");
  REQUIRE(found);
  CHECK(found->status == 200);
  check_error(cli->Get("/test/conversations/2"), 410, "gone");
  auto stub = cli->Get("/test/conversations/3");
  check_error(stub, 404, "not_found");
  CHECK(body_of(stub)["message"] == "stub");
}

TEST_CASE("server: an exception in a handler is logged and answers 500 JSON", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto r = cli->Get("/test/throw");
  check_error(r, 500, "internal");
  CHECK(body_of(r)["message"] == "internal error");  // no details to the client
  CHECK(ts.logger->saw("threw: bug"));
  CHECK(cli->Get("/healthz")->status == 200);
}

TEST_CASE("server: malformed requests get a JSON 400 and never crash it", "[chatd][http]") {
  TestServer ts;
  auto reply = raw_exchange(ts.server->port(), "NONSENSE\r\n\r\n");
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 400"));
  CHECK_THAT(reply, Catch::Contains("\"success\":false"));
  auto chunked = raw_exchange(ts.server->port(),
                              "POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  CHECK_THAT(chunked, Catch::StartsWith("HTTP/1.1 400"));
  auto gzip = raw_exchange(ts.server->port(),
                           "POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc");
  CHECK_THAT(gzip, Catch::StartsWith("HTTP/1.1 501"));
  CHECK_THAT(gzip, Catch::Contains("Transfer-Encoding"));
  auto cli = ts.client();
  CHECK(cli->Get("/healthz")->status == 200);
}

TEST_CASE("server: POST, PUT and PATCH without Content-Length have an empty body", "[chatd][http]") {
  TestServer ts;
  for (const char* method : {"POST", "PUT", "PATCH"}) {
    INFO(method);
    auto start = std::chrono::steady_clock::now();
    auto reply = raw_exchange(ts.server->port(), std::string(method) + " /test/echo HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(std::chrono::steady_clock::now() - start < 2s);  // not the 10 s read timeout
    if (std::string_view(method) == "POST") {
      CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 400"));
      CHECK_THAT(reply, Catch::Contains("request body is empty"));
    } else {
      CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 405"));
    }
  }
}

TEST_CASE("server: DELETE without a body does not wait for one", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  auto start = std::chrono::steady_clock::now();
  auto r = cli->Delete("/test/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  auto with_body = cli->Delete("/test/echo", "abc", "text/plain");
  CHECK(body_of(with_body)["bytes"] == 3);
}

TEST_CASE("server: /metrics counts requests by route pattern and status", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  REQUIRE(cli->Get("/healthz")->status == 200);
  REQUIRE(cli->Get("/test/conversations/3")->status == 404);
  REQUIRE(cli->Get("/nope")->status == 404);
  REQUIRE(ts.logger->saw("http GET /nope 404"));
  auto m = cli->Get("/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK_THAT(m->get_header_value("Content-Type"), Catch::StartsWith("text/plain"));
  CHECK_THAT(m->body, Catch::Contains(R"(chatd_http_requests_total{method="GET",route="/healthz",status="200"} 1)"));
  CHECK_THAT(m->body,
             Catch::Contains(R"(chatd_http_requests_total{method="GET",route="/test/conversations/{id}",status="404"} 1)"));
  CHECK_THAT(m->body, Catch::Contains(R"(route="unmatched",status="404"} 1)"));
  CHECK_THAT(m->body, Catch::Contains("chatd_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1"));
}

TEST_CASE("server: port 0 binds a free port and the same port cannot be shared", "[chatd][http]") {
  TestServer a;
  TestServer b;
  CHECK(a.server->port() != b.server->port());
  chatd::Config config;
  config.port = a.server->port();
  chatd::Server clash(config, chatd::ServerDeps{a.service, kSecret, a.clock, a.logger});
  auto st = clash.start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == chat::ErrorCode::kUnavailable);
  CHECK_THAT(st.error().message, Catch::Contains(std::to_string(config.port)));
}

TEST_CASE("server: stop() lets the request in flight finish", "[chatd][http]") {
  TestServer ts;
  auto port = ts.server->port();
  auto pending = std::async(std::launch::async, [port] {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(10, 0);
    auto r = cli.Get("/test/slow");
    return r ? r->status : -1;
  });
  REQUIRE(ts.slow_entered.wait_for(1s));
  CHECK(ts.server->running());
  ts.server->stop();
  CHECK(ts.slow_finished);  // stop() waited for it
  CHECK(pending.get() == 200);
  CHECK_FALSE(ts.server->running());
  CHECK(ts.server->context().stopping.load());
  // The listening socket is closed: new connections fail.
  httplib::Client late("127.0.0.1", port);
  late.set_connection_timeout(1, 0);
  CHECK_FALSE(late.Get("/healthz"));
  ts.server->stop();  // idempotent
}

TEST_CASE("server: stop() right after start() does not hang", "[chatd][http]") {
  for (int i = 0; i < 5; ++i) {
    TestServer ts;
    ts.server->stop();
    CHECK_FALSE(ts.server->running());
  }
}

TEST_CASE("server: SIGTERM stops it gracefully through run_until_signal", "[chatd][http]") {
  // The signal is blocked in this thread (and so in the server's threads,
  // created after) and sent to this thread only, as main() does for the process.
  sigset_t old;
  pthread_sigmask(SIG_SETMASK, nullptr, &old);
  const sigset_t signals = chatd::block_stop_signals();
  {
    TestServer ts;
    auto port = ts.server->port();
    auto pending = std::async(std::launch::async, [port] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(10, 0);
      auto r = cli.Get("/test/slow");
      return r ? r->status : -1;
    });
    REQUIRE(ts.slow_entered.wait_for(1s));
    REQUIRE(pthread_kill(pthread_self(), SIGTERM) == 0);
    CHECK(chatd::run_until_signal(*ts.server, signals, *ts.logger) == 0);
    CHECK(ts.slow_finished);
    CHECK(pending.get() == 200);
    CHECK_FALSE(ts.server->running());
    CHECK(ts.logger->saw("received SIGTERM"));
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_CASE("server: the worker pool is sized by --threads, not httplib's 8", "[chatd][http]") {
  chatd::Config config;
  config.port = 0;
  config.threads = 24;
  auto service = std::make_shared<Service>();
  constexpr int kClients = 16;  // more than httplib's default pool of 8
  std::mutex mu;                // declared before the server, which outlives its handlers' use of them
  std::condition_variable cv;
  int inside = 0;
  int most = 0;
  chatd::Server server(config, chatd::ServerDeps{service, kSecret, nullptr, nullptr});
  server.router().get("/barrier", [&](const httplib::Request&, httplib::Response& res, const chatd::PathParams&, const chatd::RequestScope&) {
    std::unique_lock lock(mu);
    most = std::max(most, ++inside);
    cv.notify_all();
    // Wait until every client is inside at once (or give up after 3 s).
    cv.wait_for(lock, 3s, [&] { return most >= kClients; });
    --inside;
    chatd::render_json(res, 200, json::object());
  });
  REQUIRE(server.start().ok());
  std::vector<std::future<int>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::async(std::launch::async, [port = server.port()] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(10, 0);
      auto r = cli.Get("/barrier");
      return r ? r->status : -1;
    }));
  }
  for (auto& c : clients) CHECK(c.get() == 200);
  CHECK(most == kClients);
}

TEST_CASE("server: keep-alive allows 1000 requests per connection", "[chatd][http]") {
  TestServer ts;
  auto cli = ts.client();
  cli->set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {
    auto r = cli->Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK_THAT(r->get_header_value("Keep-Alive"), Catch::Contains("max=1000"));
  }
}

TEST_CASE("server: /metrics renders registered gauges", "[chatd][http]") {
  chatd::Metrics m;
  m.add_gauge("chatd_open_streams", "Open SSE streams.", [] { return 3.0; });
  m.observe("GET", "/x", 200, 0.002);
  auto text = m.render();
  CHECK_THAT(text, Catch::Contains("# TYPE chatd_open_streams gauge\nchatd_open_streams 3\n"));
  CHECK_THAT(text, Catch::Contains("chatd_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.001\"} 0"));
  CHECK_THAT(text, Catch::Contains("chatd_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.0025\"} 1"));
  CHECK_THAT(text, Catch::Contains("chatd_http_request_duration_seconds_count{route=\"/x\"} 1"));
}
