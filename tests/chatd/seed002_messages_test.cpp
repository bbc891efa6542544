// Seed 002 over HTTP: customer posts, polling, long-polls, the agent's list.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "chatd/live_server.hpp"
#include "chatd/wait.hpp"

using chatd_test::LiveOptions;
using chatd_test::LiveServer;
using chat::PrincipalRole;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string first_post(const LiveServer& s, const std::string& content = "Hello", const std::string& bearer = {}) {
  auto r = s.post("/api/messages/", {{"content", content}, {"name", "Ann"}, {"email", "ann@example.com"}}, bearer);
  REQUIRE(r.status == 200);
  return r.json["items"][0]["conversation"].get<std::string>();
}

}  // namespace

TEST_CASE("seed 002: post creates a conversation and answers items/count", "[http][seed002]") {
  LiveServer s;
  auto r = s.post("/api/messages/", {{"content", "Hello"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.json["count"] == 1);
  const auto& item = r.json["items"][0];
  CHECK(item["content"] == "Hello");
  CHECK(item["author"] == "CUS");
  CHECK(item["id"].is_number_integer());
  CHECK(item["date"] == "2026-01-01T00:00:00.000Z");
  const std::string uuid = item["conversation"];
  CHECK(uuid.size() == 36);

  // Same conversation; without since: every message; with since: the newer ones.
  auto second = s.post("/api/messages/", {{"conversation", uuid}, {"content", "More"}});
  REQUIRE(second.status == 200);
  CHECK(second.json["count"] == 2);
  const std::int64_t last = second.json["items"][1]["id"];
  auto third = s.post("/api/messages/?since=" + std::to_string(last), {{"conversation", uuid}, {"content", "3"}});
  REQUIRE(third.status == 200);
  CHECK(third.json["count"] == 1);
  CHECK(third.json["items"][0]["content"] == "3");

  // Missing, invalid or unknown conversation: a new one.
  for (json conv : {json("nope"), json("3fa85f64-5717-4562-b3fc-2c963f66afa6"), json(nullptr)}) {
    auto n = s.post("/api/messages/", {{"conversation", conv}, {"content", "x"}});
    REQUIRE(n.status == 200);
    CHECK(n.json["items"][0]["conversation"] != uuid);
  }
}

TEST_CASE("seed 002: bad input is 400 naming the field and writes nothing", "[http][seed002]") {
  LiveServer s;
  auto bad = [&](const std::string& raw, const std::string& field) {
    auto r = s.send("POST", "/api/messages/", raw);
    CHECK(r.status == 400);
    if (!field.empty()) CHECK(r.json["error"]["field"] == field);
  };
  bad("{", "");
  bad("[]", "");
  bad(R"({})", "content");
  bad(R"({"content": ""})", "content");
  bad(R"({"content": 5})", "content");
  bad(R"({"content": "x", "conversation": 5})", "conversation");
  bad(R"({"content": "x", "name": []})", "name");
  bad(R"({"content": "x", "email": false})", "email");
  auto since = s.post("/api/messages/?since=abc", {{"content", "x"}});
  CHECK(since.status == 400);
  CHECK(since.json["error"]["field"] == "since");
  auto agents = s.get("/api/conversation/", s.token("9", PrincipalRole::kAgent));
  REQUIRE(agents.status == 200);
  CHECK(agents.json["count"] == 0);  // nothing was written
  CHECK(s.get("/api/messages/" + std::string("3fa85f64-5717-4562-b3fc-2c963f66afa6") + "/").status == 404);
  CHECK(s.get("/api/messages/not-a-uuid/").status == 404);
  CHECK(s.post("/api/messages/", {{"content", "x"}}, "garbage").status == 401);
}

TEST_CASE("seed 002: polling with since, ownership and agents answering", "[http][seed002]") {
  LiveServer s;
  const auto uuid = first_post(s);
  const auto agent = s.token("50", PrincipalRole::kAgent);
  const auto user = s.token("1");

  auto all = s.get("/api/messages/" + uuid + "/");
  REQUIRE(all.status == 200);
  REQUIRE(all.json["count"] == 1);
  const std::int64_t since = all.json["items"][0]["id"];
  auto none = s.get("/api/messages/" + uuid + "/?since=" + std::to_string(since));
  REQUIRE(none.status == 200);
  CHECK(none.json["count"] == 0);
  CHECK(none.json["items"].empty());

  // The agent answers with the uuid: author AGE.
  auto answer = s.post("/api/messages/?since=" + std::to_string(since), {{"conversation", uuid}, {"content", "Hi!"}},
                       agent);
  REQUIRE(answer.status == 200);
  REQUIRE(answer.json["count"] == 1);
  CHECK(answer.json["items"][0]["author"] == "AGE");
  auto polled = s.get("/api/messages/" + uuid + "/?since=" + std::to_string(since));
  REQUIRE(polled.json["count"] == 1);
  CHECK(polled.json["items"][0]["content"] == "Hi!");
  // An agent without a conversation is 404 naming conversation.
  auto lost = s.post("/api/messages/", {{"content", "x"}}, agent);
  CHECK(lost.status == 404);
  CHECK(lost.json["error"]["field"] == "conversation");
  // Uppercase uuid works too.
  std::string upper = uuid;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(s.get("/api/messages/" + upper).json["count"] == 2);

  // A logged-in customer owns the conversation: others (anonymous, other users) get 404.
  const auto owned = first_post(s, "mine", user);
  CHECK(s.get("/api/messages/" + owned + "/", user).status == 200);
  CHECK(s.get("/api/messages/" + owned + "/").status == 404);
  CHECK(s.get("/api/messages/" + owned + "/", s.token("2")).status == 404);
  CHECK(s.get("/api/messages/" + owned + "/", agent).status == 200);
  // Posting with another user's uuid opens a new conversation rather than leaking.
  auto other = s.post("/api/messages/", {{"conversation", owned}, {"content", "hijack"}}, s.token("2"));
  REQUIRE(other.status == 200);
  CHECK(other.json["items"][0]["conversation"] != owned);
  CHECK(s.get("/api/messages/" + owned + "/", user).json["count"] == 1);
}

TEST_CASE("seed 002: the agents' conversation list", "[http][seed002]") {
  LiveServer s;
  for (int i = 0; i < 3; ++i) first_post(s, "hi " + std::to_string(i));
  CHECK(s.get("/api/conversation/").status == 401);
  CHECK(s.get("/api/conversation/", s.token("1")).status == 403);
  const auto agent = s.token("50", PrincipalRole::kAgent);
  auto list = s.get("/api/conversation/", agent);
  REQUIRE(list.status == 200);
  CHECK(list.json["count"] == 3);
  REQUIRE(list.json["items"].size() == 3);
  CHECK(list.json["items"][0]["name"] == "Ann");
  CHECK(list.json["items"][0]["uuid"].is_string());
  CHECK(list.json["items"][0]["total_messages"] == 1);
  auto page = s.get("/api/conversation/?limit=2&offset=2", s.token("0", PrincipalRole::kAdmin));
  REQUIRE(page.status == 200);
  CHECK(page.json["count"] == 3);
  CHECK(page.json["items"].size() == 1);
  CHECK(s.get("/api/conversation/?limit=0", agent).json["error"]["field"] == "limit");
  CHECK(s.get("/api/conversation/?limit=1001", agent).status == 400);
  CHECK(s.get("/api/conversation/?offset=-1", agent).json["error"]["field"] == "offset");
  // Seed 003 conversations are support conversations too; deleted ones vanish.
  auto user = s.token("1");
  auto created = s.post("/chat/conversations", {{"title", "t"}}, user);
  REQUIRE(created.status == 201);
  CHECK(s.get("/api/conversation/", agent).json["count"] == 4);
  REQUIRE(s.del("/chat/conversations/" + std::to_string(created.json["data"]["conversation_id"].get<int>()), user)
              .status == 200);
  CHECK(s.get("/api/conversation/", agent).json["count"] == 3);
}

TEST_CASE("seed 002: long-poll returns on a post, times out empty, and is bounded", "[http][seed002]") {
  LiveOptions o;
  o.threads = 128;
  o.max_streams = 64;
  LiveServer s(o);
  const auto uuid = first_post(s);
  const std::int64_t since = s.get("/api/messages/" + uuid + "/").json["items"][0]["id"];
  const std::string wait_path = "/api/messages/" + uuid + "/?since=" + std::to_string(since) + "&wait=20";

  // Timeout: empty items after about `wait` seconds.
  {
    const auto start = std::chrono::steady_clock::now();
    auto r = s.get("/api/messages/" + uuid + "/?since=" + std::to_string(since) + "&wait=1");
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r.status == 200);
    CHECK(r.json["count"] == 0);
    CHECK(took >= 900ms);
    CHECK(took < 5s);
  }
  CHECK(s.get("/api/messages/" + uuid + "/?wait=-1").json["error"]["field"] == "wait");

  // 64 waiters hold every slot; plain requests stay fast; the 65th gets 429.
  const auto other = first_post(s, "other conversation");
  std::vector<std::future<chatd_test::HttpResult>> waiters;
  for (int i = 0; i < 63; ++i) waiters.push_back(std::async(std::launch::async, [&] { return s.get(wait_path); }));
  const std::int64_t other_since = s.get("/api/messages/" + other + "/").json["items"][0]["id"];
  auto other_waiter = std::async(std::launch::async, [&] {
    return s.get("/api/messages/" + other + "/?since=" + std::to_string(other_since) + "&wait=20");
  });
  // The slot counter notifies nobody: poll it, with a deadline.
  chatd_test::eventually([&] { return s.server->context().streams.open() >= 64; });
  REQUIRE(s.server->context().streams.open() == 64);

  const auto t0 = std::chrono::steady_clock::now();
  auto plain = s.get("/healthz");
  auto list = s.get("/api/messages/" + uuid + "/");
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(plain.status == 200);
  CHECK(list.status == 200);

  auto refused = s.get(wait_path);
  CHECK(refused.status == 429);
  CHECK(refused.json["error"]["code"] == "resource_exhausted");
  CHECK(refused.headers.count("Retry-After") == 1);

  // A post from another thread wakes this conversation's waiters promptly, not the other one.
  const auto posted_at = std::chrono::steady_clock::now();
  auto answer = s.post("/api/messages/", {{"conversation", uuid}, {"content", "wake up"}},
                       s.token("50", PrincipalRole::kAgent));
  REQUIRE(answer.status == 200);
  for (auto& w : waiters) {
    auto r = w.get();
    REQUIRE(r.status == 200);
    REQUIRE(r.json["count"] == 1);
    CHECK(r.json["items"][0]["content"] == "wake up");
    CHECK(r.json["items"][0]["author"] == "AGE");
  }
  CHECK(std::chrono::steady_clock::now() - posted_at < 3s);
  CHECK(other_waiter.wait_for(0ms) == std::future_status::timeout);  // still waiting
  s.post("/api/messages/", {{"conversation", other}, {"content", "you too"}});
  CHECK(other_waiter.get().json["count"] == 1);
}

TEST_CASE("seed 002: a graceful stop ends open long-polls at once", "[http][seed002]") {
  LiveOptions o;
  o.threads = 32;
  o.max_streams = 8;
  LiveServer s(o);
  const auto uuid = first_post(s);
  std::vector<std::future<chatd_test::HttpResult>> waiters;
  for (int i = 0; i < 4; ++i)
    waiters.push_back(std::async(std::launch::async, [&] { return s.get("/api/messages/" + uuid + "/?since=999&wait=30"); }));
  chatd_test::eventually([&] { return s.server->context().streams.open() >= 4; });
  REQUIRE(s.server->context().streams.open() == 4);
  const auto start = std::chrono::steady_clock::now();
  s.server->stop();
  CHECK(std::chrono::steady_clock::now() - start < 10s);  // not 30 s (idle keep-alives take up to 5 s)
  for (auto& w : waiters) {
    auto r = w.get();
    if (r.status != 0) CHECK(r.json["count"] == 0);
  }
}

TEST_CASE("seed 002: integer ids never reach an anonymous conversation", "[http][seed002][safety]") {
  LiveServer s;
  const std::string uuid = first_post(s, "my order 123");
  auto c = s.service->get_conversation(chat::Principal::anonymous(),
                                       chat::ConversationKey::of_uuid(uuid, chat::ConversationKind::kSupport));
  REQUIRE(c.ok());
  const std::string number = std::to_string(c->id);
  // A poll by number is no poll of the conversation.
  CHECK(s.get("/api/messages/" + number + "/").status == 404);
  // A post naming it by number opens a new conversation; the first one is untouched.
  auto n = s.post("/api/messages/", {{"conversation", number}, {"content", "hijack"}});
  REQUIRE(n.status == 200);
  CHECK(n.json["items"][0]["conversation"] != uuid);
  auto own = s.get("/api/messages/" + uuid + "/");
  REQUIRE(own.status == 200);
  CHECK(own.json["count"] == 1);
}
