// Issue 9, memory amplification: one listing's answer is bounded by the page's
// byte budget (chat::ServiceOptions::max_page_bytes), following the offset
// still returns every message once; an answer written to a client that does
// not read ends at its total write deadline.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>

#include "chatd/live_server.hpp"
#include "http_response_writer.hpp"
#include "socket_io.hpp"

using chatd_test::LiveOptions;
using chatd_test::LiveServer;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("page bytes: seed 001's messages listing of the attack's shape answers a bounded body",
          "[http][seed001][page_bytes]") {
  constexpr std::size_t kBudget = 256 * 1024;
  LiveOptions o;
  o.service.max_page_bytes = kBudget;
  LiveServer s(o);
  const std::string meta_text(8 * 1024, 'm');
  auto made = s.post("/api/chats/sessions/", {{"session_id", "amp-1"}, {"metadata", {{"pad", meta_text}}}});
  REQUIRE(made.status == 201);
  constexpr int kMessages = 60;
  std::vector<std::string> posted;
  for (int i = 0; i < kMessages; ++i) {
    auto r = s.post("/api/chats/messages/", {{"session_id", "amp-1"},
                                             {"message", std::to_string(i) + std::string(20 * 1024, 'x')},
                                             {"metadata", {{"pad", meta_text}}}});
    REQUIRE(r.status == 201);
    posted.push_back(r.json["id"].get<std::string>());
  }
  // Unbounded, this answer is 60 x (20 KB + 8 KB + the 8 KB session) = 2.1 MB.
  auto first = s.get("/api/chats/messages/?session_id=amp-1&limit=1000");
  REQUIRE(first.status == 200);
  REQUIRE(first.json.is_array());
  CHECK(first.json.size() >= 1);
  CHECK(first.json.size() < kMessages);
  // Stored text within the budget; JSON syntax and fixed fields add a little per item.
  CHECK(first.body.size() <= kBudget + first.json.size() * 2'048);

  std::vector<std::string> seen;
  std::size_t offset = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = s.get("/api/chats/messages/?session_id=amp-1&limit=1000&offset=" + std::to_string(offset));
    REQUIRE(page.status == 200);
    if (page.json.empty()) break;
    CHECK(page.body.size() <= kBudget + page.json.size() * 2'048);
    for (const auto& m : page.json) seen.push_back(m["id"].get<std::string>());
    offset += page.json.size();
  }
  CHECK(seen == posted);
}

TEST_CASE("page bytes: an answer to a client that never reads ends at its total write deadline",
          "[http][page_bytes]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  int small = 4096;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  chatd::SocketIo io(fds[0]);
  httplib::Request req;
  req.method = "GET";
  httplib::Response res;
  res.status = 200;
  res.body = std::string(4 * 1024 * 1024, 'b');
  chatd::ResponseOptions options;
  options.write_timeout = 60s;  // the stall bound alone would hold the worker a minute
  options.write_deadline_base = 300ms;
  options.write_min_rate = 1024 * 1024 * 1024;
  CHECK(chatd::write_deadline(options, 64 * 1024 * 1024, chatd::Deadline{}) == chatd::Deadline{} + 300ms + 62ms);
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = chatd::write_response(io, req, res, options);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(outcome.ok);
  CHECK(took < 20s);  // generous: the deadline is 0.3 s
  ::close(fds[1]);

  chatd::ResponseOptions defaults;
  // 30 s + 4 MiB at 64 KiB/s = 94 s.
  CHECK(chatd::write_deadline(defaults, 4 * 1024 * 1024, chatd::Deadline{}) == chatd::Deadline{} + 94s);
  defaults.write_min_rate = 0;
  CHECK(chatd::write_deadline(defaults, 1, chatd::Deadline{}) == chatd::Deadline::max());
}
