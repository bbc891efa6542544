// The reactor (reactor.hpp): request heads read off the worker pool, idle
// keep-alive connections without a thread, connection caps, a client that
// hangs up frees its request, client addresses behind a trusted proxy, and a
// graceful stop with parked and active connections (issue 9, items 2 and 5).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "chatd/raw_http.hpp"
#include "chatd/stub_service.hpp"
#include "chatd/wait.hpp"
#include "config.hpp"
#include "http_json.hpp"
#include "server.hpp"

using chatd_test::RawConnection;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kGet = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

// A chatd over the stub service with test routes:
//   /healthz      200 at once
//   /whoami       the scope's client_address
//   /wait?ms=N    waits up to N ms on the request's stop token; answers
//                 {"stopped": true} when it was requested first
struct Fixture {
  std::shared_ptr<chatd_test::StubChatService> service = std::make_shared<chatd_test::StubChatService>();
  // Before the server, which outlives its handlers' use of them.
  chatd_test::Signal waiting;   // a /wait handler began waiting
  chatd_test::Signal stopped;   // a /wait handler saw its token requested
  std::atomic<int> stops{0};
  std::unique_ptr<chatd::Server> server;

  explicit Fixture(chatd::Config config = base()) {
    server = std::make_unique<chatd::Server>(config, chatd::ServerDeps{service, "stub-secret", nullptr, nullptr});
    auto& r = server->router();
    r.get("/healthz", [](const httplib::Request&, httplib::Response& res, const chatd::PathParams&,
                         const chatd::RequestScope&) { chatd::render_json(res, 200, {{"status", "ok"}}); });
    r.get("/whoami", [](const httplib::Request&, httplib::Response& res, const chatd::PathParams&,
                        const chatd::RequestScope& scope) {
      chatd::render_json(res, 200, {{"client_address", scope.client_address}});
    });
    r.get("/wait", [this](const httplib::Request& req, httplib::Response& res, const chatd::PathParams&,
                          const chatd::RequestScope& scope) {
      const auto ms = std::stol(req.get_param_value("ms"));
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      waiting.set();
      const bool stop = cv.wait_for(lock, scope.stop, std::chrono::milliseconds(ms), [] { return false; }) ||
                        scope.stop.stop_requested();
      if (stop) {
        ++stops;
        stopped.set();
      }
      chatd::render_json(res, 200, {{"stopped", stop}});
    });
    REQUIRE(server->start().ok());
  }

  static chatd::Config base() {
    chatd::Config config;
    config.port = 0;
    config.threads = 16;
    config.request_timeout_seconds = 30;
    return config;
  }

  int port() const { return server->port(); }

  // /healthz on a new connection; the time it took, or 1 h when it failed.
  std::chrono::milliseconds healthz() const {
    const auto start = std::chrono::steady_clock::now();
    RawConnection c(port());
    if (!c.send(kGet)) return 1h;
    auto r = c.read_response(5s);
    if (!r || r->status != 200) return 1h;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }
};

}  // namespace

TEST_CASE("reactor: 200 slow-header sockets against 16 threads leave /healthz answering",
          "[chatd][reactor][slowloris]") {
  Fixture f;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawConnection>(f.port()));
    REQUIRE(slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  REQUIRE(chatd_test::eventually([&] { return f.server->parked_connections() >= 200; }));
  for (int i = 0; i < 10; ++i) {
    CHECK(f.healthz() < 1s);
    for (int j = i; j < 200; j += 10) slow[static_cast<std::size_t>(j)]->send("y");  // still trickling
  }
  // The slow ones are still served once their heads complete.
  REQUIRE(slow[0]->send("\r\n\r\n"));
  auto r = slow[0]->read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("reactor: 100 slow small bodies against 16 threads leave /healthz answering",
          "[chatd][reactor][slowloris]") {
  Fixture f;
  f.server->router().post("/echo", [](const httplib::Request& req, httplib::Response& res, const chatd::PathParams&,
                                      const chatd::RequestScope&) {
    chatd::render_json(res, 200, {{"bytes", req.body.size()}});
  });
  // A complete head with a Content-Length of 100, then 10 bytes of body: the
  // reactor keeps reading the body, so none of them holds a worker.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<RawConnection>(f.port()));
    REQUIRE(slow.back()->send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  }
  REQUIRE(chatd_test::eventually([&] { return f.server->parked_connections() >= 100; }));
  for (int i = 0; i < 5; ++i) CHECK(f.healthz() < 1s);
  // A finished body is answered.
  REQUIRE(slow[0]->send(std::string(90, 'x')));
  auto r = slow[0]->read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(json::parse(r->body)["bytes"] == 100);
}

TEST_CASE("reactor: bodies past the reactor's byte budget are refused with 503, not handed to a worker",
          "[chatd][reactor][slowloris]") {
  auto config = Fixture::base();
  config.max_body_bytes = 100'000;
  Fixture f(config);
  // 40 slow 100 kB bodies fit in the default 256 MiB budget: none holds a
  // worker (16 threads) and /healthz answers.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 40; ++i) {
    slow.push_back(std::make_unique<RawConnection>(f.port()));
    REQUIRE(slow.back()->send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab"));
  }
  REQUIRE(chatd_test::eventually([&] { return f.server->parked_connections() >= 40; }));
  CHECK(f.healthz() < 1s);
  // A body larger than the body limit is the worker's to refuse (413) at once.
  RawConnection big(f.port());
  REQUIRE(big.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100001\r\n\r\n"));
  auto r = big.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 413);
}

TEST_CASE("reactor: a late body is answered 408 by a worker, with the CORS headers of its origin",
          "[chatd][reactor][cors]") {
  auto config = Fixture::base();
  config.request_timeout_seconds = 1;
  config.cors_origins = {"http://localhost:5173"};
  Fixture f(config);
  RawConnection c(f.port());
  REQUIRE(c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n"
                 "Content-Length: 10\r\n\r\nab"));
  auto r = c.read_response(10s);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(r->header("access-control-allow-origin") == "http://localhost:5173");
  CHECK(json::parse(r->body)["error"]["code"] == "request_timeout");
}

TEST_CASE("reactor: 300 idle keep-alive connections against 16 threads cost no thread",
          "[chatd][reactor]") {
  auto config = Fixture::base();
  config.max_connections_per_address = 1000;
  Fixture f(config);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<RawConnection>(f.port()));
    REQUIRE(idle.back()->send(kGet));
    auto r = idle.back()->read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(f.server->open_connections() >= 300);
  CHECK(chatd_test::eventually([&] { return f.server->parked_connections() >= 300; }));
  CHECK(f.healthz() < 1s);
  // Every idle connection is still served, in any order.
  for (int i = 299; i >= 0; i -= 37) {
    REQUIRE(idle[static_cast<std::size_t>(i)]->send(kGet));
    auto r = idle[static_cast<std::size_t>(i)]->read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("reactor: over the per-address cap 429, over the total cap 503, trusted proxies exempt",
          "[chatd][reactor]") {
  SECTION("per address") {
    auto config = Fixture::base();
    config.max_connections_per_address = 5;
    Fixture f(config);
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 5; ++i) {
      held.push_back(std::make_unique<RawConnection>(f.port()));
      REQUIRE(held.back()->send("GET /healthz HTTP/1.1\r\n"));
    }
    REQUIRE(chatd_test::eventually([&] { return f.server->open_connections() == 5; }));
    RawConnection over(f.port());
    auto r = over.read_response(5s);  // answered without reading a request
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(r->header("retry-after") == "1");
    CHECK(json::parse(r->body)["error"]["code"] == "resource_exhausted");
    CHECK(over.closed_within(2s));
    // One leaves: a new one is served.
    held.front()->close();
    REQUIRE(chatd_test::eventually([&] { return f.server->open_connections() == 4; }));
    CHECK(f.healthz() < 1s);
  }
  SECTION("in all") {
    auto config = Fixture::base();
    config.max_connections = 3;
    Fixture f(config);
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<RawConnection>(f.port()));
      REQUIRE(held.back()->send("GET /healthz HTTP/1.1\r\n"));
    }
    REQUIRE(chatd_test::eventually([&] { return f.server->open_connections() == 3; }));
    RawConnection over(f.port());
    auto r = over.read_response(5s);  // answered without reading a request
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->header("retry-after") == "1");
    CHECK(json::parse(r->body)["error"]["code"] == "unavailable");
  }
  SECTION("a trusted proxy is exempt from the per-address cap") {
    auto config = Fixture::base();
    config.max_connections_per_address = 2;
    config.trusted_proxies = "127.0.0.1/32";
    Fixture f(config);
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 6; ++i) {
      held.push_back(std::make_unique<RawConnection>(f.port()));
      REQUIRE(held.back()->send(kGet));
      auto r = held.back()->read_response(5s);
      REQUIRE(r);
      CHECK(r->status == 200);
    }
  }
}

TEST_CASE("reactor: a client that hangs up mid-request has its stop token requested within 2 s",
          "[chatd][reactor][hangup]") {
  Fixture f;
  SECTION("close (FIN)") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(f.waiting.wait_for(5s));
    c.close();
    CHECK(f.stopped.wait_for(2s));
  }
  SECTION("reset (RST)") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(f.waiting.wait_for(5s));
    linger l{1, 0};  // close with RST
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    c.close();
    CHECK(f.stopped.wait_for(2s));
  }
  SECTION("a half-close after the last request still gets its (early) answer") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(f.waiting.wait_for(5s));
    c.shutdown_write();
    auto r = c.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body)["stopped"] == true);
  }
  SECTION("a stray byte, then close: still a client that left") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(f.waiting.wait_for(5s));
    REQUIRE(c.send("X"));
    c.close();
    CHECK(f.stopped.wait_for(2s));
  }
  SECTION("a partial next head, then close: still a client that left") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHo"));
    REQUIRE(f.waiting.wait_for(5s));
    c.close();
    CHECK(f.stopped.wait_for(2s));
  }
  SECTION("a FIN with pipelined requests unread cancels nothing: every request is answered") {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /wait?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n" + kGet));
    c.shutdown_write();
    auto first = c.read_response(5s);
    REQUIRE(first);
    CHECK(json::parse(first->body)["stopped"] == false);
    auto second = c.read_response(5s);
    REQUIRE(second);
    CHECK(second->status == 200);
    CHECK(c.closed_within(2s));
  }
  // The server goes on serving.
  CHECK(f.healthz() < 1s);
}

TEST_CASE("reactor: client_address is the peer, or X-Forwarded-For behind a trusted proxy",
          "[chatd][reactor][client_address]") {
  auto whoami = [](const Fixture& f, const std::string& extra) {
    RawConnection c(f.port());
    REQUIRE(c.send("GET /whoami HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n"));
    auto r = c.read_response(5s);
    REQUIRE(r);
    return json::parse(r->body)["client_address"].get<std::string>();
  };
  {
    Fixture untrusted;
    CHECK(whoami(untrusted, "") == "127.0.0.1");
    CHECK(whoami(untrusted, "X-Forwarded-For: 203.0.113.7\r\n") == "127.0.0.1");
  }
  auto config = Fixture::base();
  config.trusted_proxies = "127.0.0.1/32,::1/128";
  Fixture trusted(config);
  CHECK(whoami(trusted, "") == "127.0.0.1");
  CHECK(whoami(trusted, "X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n") == "203.0.113.7");
  CHECK(whoami(trusted, "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n") == "203.0.113.7");
  // A proxy that could not name its client: unknown, never the (loopback) proxy.
  CHECK(whoami(trusted, "X-Forwarded-For: not-an-address\r\n") == "unknown");
  // An appending proxy after a client's own garbage: the client.
  CHECK(whoami(trusted, "X-Forwarded-For: garbage, 8.8.8.8\r\n") == "8.8.8.8");
}

TEST_CASE("reactor: a graceful stop with parked and active connections", "[chatd][reactor]") {
  Fixture f;
  RawConnection idle(f.port());
  REQUIRE(idle.send(kGet));
  REQUIRE(idle.read_response(5s));
  RawConnection partial(f.port());
  REQUIRE(partial.send("GET /healthz HTTP/1.1\r\nHo"));
  RawConnection active(f.port());
  REQUIRE(active.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(f.waiting.wait_for(5s));
  REQUIRE(chatd_test::eventually([&] { return f.server->open_connections() == 3; }));
  const auto start = std::chrono::steady_clock::now();
  f.server->stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(f.stops.load() == 1);  // the request in flight had its token requested
  auto r = active.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(idle.closed_within(1s));
  CHECK(partial.closed_within(1s));
  CHECK(f.server->open_connections() == 0);
  CHECK_FALSE(f.server->running());
}

TEST_CASE("reactor: a keep-alive client's next request is answered at once, after the worker's wait, or slowly",
          "[chatd][reactor]") {
  Fixture f;
  RawConnection c(f.port());
  // At once: the worker that answered usually serves the next one itself (issue 11).
  for (int i = 0; i < 50; ++i) {
    REQUIRE(c.send(kGet));
    auto r = c.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // After the worker's short wait the reactor holds the connection again...
  CHECK(chatd_test::eventually([&] { return f.server->parked_connections() >= 1; }));
  // ...and a head arriving in pieces stays with the reactor until it is whole.
  REQUIRE(c.send("GET /healthz HTTP/1.1\r\n"));
  CHECK(chatd_test::eventually([&] { return f.server->parked_connections() >= 1; }));
  CHECK(f.healthz() < 5s);
  REQUIRE(c.send("Host: x\r\n\r\n"));
  auto r = c.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
}
