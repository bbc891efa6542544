// The live fixture itself: the real service behind the real server.
#include <catch2/catch.hpp>

#include "chatd/live_server.hpp"

TEST_CASE("live server: health, metrics gauges, auth against the real service", "[chatd][http]") {
  chatd_test::LiveOptions o;
  o.threads = 16;
  o.max_streams = 4;
  chatd_test::LiveServer s(o);
  auto h = s.get("/healthz");
  CHECK(h.status == 200);
  CHECK(h.json["status"] == "ok");
  auto m = s.get("/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("chatd_max_streams 4") != std::string::npos);
  CHECK(m.body.find("chatd_open_streams 0") != std::string::npos);
  // Worker threads on demand (worker_pool.hpp): the floor of 8 at start,
  // at most --threads (two sequential requests need no more).
  CHECK(m.body.find("chatd_max_worker_threads 16") != std::string::npos);
  CHECK(m.body.find("chatd_worker_threads 8") != std::string::npos);
  CHECK(m.body.find("chatd_worker_threads_busy ") != std::string::npos);
  CHECK(m.body.find("chatd_worker_queue 0") != std::string::npos);
  CHECK(s.server->context().streams.capacity() == 4);
  // The service is real: a conversation created through it is there.
  auto c = s.service->create_conversation(chat::Principal::user("1"), chat::NewConversation{});
  REQUIRE(c.ok());
  CHECK(s.service->get_conversation(chat::Principal::user("1"), chat::ConversationKey::of_id(c->id)).ok());
}

TEST_CASE("stream slots: bounded, returned when released", "[chatd]") {
  chatd::StreamSlots slots(2);
  auto a = slots.try_acquire("10.0.0.1");
  auto b = slots.try_acquire("10.0.0.1");
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(slots.try_acquire("10.0.0.1"));
  CHECK(slots.open() == 2);
  { auto moved = std::move(*a); }
  a.reset();
  CHECK(slots.open() == 1);
  CHECK(slots.try_acquire("10.0.0.1").has_value());  // taken and released at once
  CHECK(slots.open() == 1);
}
