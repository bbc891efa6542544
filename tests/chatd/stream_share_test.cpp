// Per-address shares of the stream slots (issue 9): one client address holds
// at most its share of the SSE streams + long-polls, others still get slots.
#include <catch2/catch.hpp>
#include <future>
#include <vector>

#include "chatd/live_server.hpp"
#include "chatd/wait.hpp"
#include "stream_slots.hpp"

using chatd_test::LiveOptions;
using chatd_test::LiveServer;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("stream slots: an address holds at most its share", "[stream_share]") {
  chatd::StreamSlots slots(5, 2);
  CHECK(slots.per_address() == 2);
  auto a1 = slots.try_acquire("10.0.0.1");
  auto a2 = slots.try_acquire("10.0.0.1");
  REQUIRE(a1);
  REQUIRE(a2);
  CHECK_FALSE(slots.try_acquire("10.0.0.1"));  // its share is used
  CHECK(slots.refused_by_share() == 1);
  auto b1 = slots.try_acquire("10.0.0.2");
  auto b2 = slots.try_acquire("10.0.0.2");
  auto c1 = slots.try_acquire("10.0.0.3");
  REQUIRE(b1);
  REQUIRE(b2);
  REQUIRE(c1);
  CHECK(slots.open() == 5);
  CHECK_FALSE(slots.try_acquire("10.0.0.4"));  // the pool is full
  CHECK(slots.refused_by_pool() == 1);
  CHECK(slots.held_by("10.0.0.1") == 2);

  a1.reset();  // a released slot goes back to the pool and to its address's share
  CHECK(slots.open() == 4);
  CHECK(slots.held_by("10.0.0.1") == 1);
  {
    auto again = slots.try_acquire("10.0.0.1");
    CHECK(again);
    auto moved = std::move(*again);  // a moved-from slot releases nothing
    again.reset();
    CHECK(slots.held_by("10.0.0.1") == 2);
  }
  CHECK(slots.held_by("10.0.0.1") == 1);
  a2.reset();
  CHECK(slots.held_by("10.0.0.1") == 0);

  // A share of 0 or above the pool is the pool.
  CHECK(chatd::StreamSlots(4, 0).per_address() == 4);
  CHECK(chatd::StreamSlots(4, 9).per_address() == 4);
}

TEST_CASE("stream share: one address's long-polls cannot take every slot", "[stream_share][http]") {
  LiveOptions o;
  o.threads = 32;
  o.max_streams = 8;
  o.max_streams_per_address = 2;
  LiveServer s(o);
  auto first = s.post("/api/messages/", {{"content", "hello"}});
  REQUIRE(first.status == 200);
  const auto uuid = first.json["items"][0]["conversation"].get<std::string>();
  const std::int64_t since = s.get("/api/messages/" + uuid + "/").json["items"][0]["id"];
  const std::string wait_path = "/api/messages/" + uuid + "/?since=" + std::to_string(since) + "&wait=20";

  std::vector<std::future<chatd_test::HttpResult>> waiters;
  for (int i = 0; i < 2; ++i) waiters.push_back(std::async(std::launch::async, [&] { return s.get(wait_path); }));
  chatd_test::eventually([&] { return s.server->context().streams.open() >= 2; });
  REQUIRE(s.server->context().streams.open() == 2);

  // The third from the same address (every test client is 127.0.0.1) is refused at once,
  // while the pool still has 6 free slots for other addresses.
  auto refused = s.get(wait_path);
  INFO(refused.body);
  CHECK(refused.status == 429);
  CHECK(refused.json["error"]["code"] == "resource_exhausted");
  CHECK(refused.headers.count("Retry-After") == 1);
  CHECK(s.server->context().streams.refused_by_share() == 1);
  CHECK(s.server->context().streams.open() == 2);
  // An SSE stream from the same address is refused by the same share.
  auto session = s.post("/api/chats/sessions/", json::object());
  REQUIRE(session.status == 201);
  auto stream = s.post("/api/chats/messages/chat/stream/",
                       {{"session_id", session.json["session_id"]}, {"message", "hi"}});
  CHECK(stream.status == 429);
  CHECK(s.server->context().streams.refused_by_share() == 2);
  // A plain poll (no wait) takes no slot and still answers.
  CHECK(s.get("/api/messages/" + uuid + "/").status == 200);

  auto m = s.get("/metrics");
  CHECK(m.body.find("chatd_streams_refused_total{reason=\"share\"} 2") != std::string::npos);
  CHECK(m.body.find("chatd_max_streams_per_address 2") != std::string::npos);

  // A post wakes the waiters; their slots come back to the address.
  REQUIRE(s.post("/api/messages/", {{"conversation", uuid}, {"content", "wake"}}).status == 200);
  for (auto& w : waiters) CHECK(w.get().status == 200);
  chatd_test::eventually([&] { return s.server->context().streams.open() == 0; });
  CHECK(s.server->context().streams.held_by("127.0.0.1") == 0);
}
