// Seed 003 over HTTP: the 11 /chat/ endpoints, /read, /sessions, and the agents registry.
#include <catch2/catch.hpp>

#include <chrono>

#include "chatd/live_server.hpp"

using chatd_test::LiveServer;
using chat::PrincipalRole;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::int64_t make_agent(const LiveServer& s, const std::string& name) {
  auto r = s.post("/api/agents/", {{"name", name}, {"system_prompt", "You help with orders."}},
                  s.token("0", PrincipalRole::kAdmin));
  REQUIRE(r.status == 201);
  return r.json["id"].get<std::int64_t>();
}

std::int64_t make_conversation(const LiveServer& s, const std::string& bearer, json body = {{"title", "Chat"}}) {
  auto r = s.post("/chat/conversations", body, bearer);
  REQUIRE(r.status == 201);
  CHECK(r.json["success"] == true);
  CHECK(r.json["message"] == "Conversation created successfully");
  return r.json["data"]["conversation_id"].get<std::int64_t>();
}

std::string conv_path(std::int64_t id, const std::string& rest = {}) {
  return "/chat/conversations/" + std::to_string(id) + rest;
}

}  // namespace

TEST_CASE("agents registry", "[http][seed003]") {
  LiveServer s;
  const auto admin = s.token("0", PrincipalRole::kAdmin);
  CHECK(s.post("/api/agents/", {{"name", "x"}}).status == 401);
  CHECK(s.post("/api/agents/", {{"name", "x"}}, s.token("1")).status == 403);
  CHECK(s.post("/api/agents/", {{"name", "x"}}, s.token("1", PrincipalRole::kAgent)).status == 403);
  CHECK(s.post("/api/agents/", json::object(), admin).json["error"]["field"] == "name");
  CHECK(s.post("/api/agents/", {{"name", "x"}, {"id", "5"}}, admin).json["error"]["field"] == "id");
  CHECK(s.post("/api/agents/", {{"name", "x"}, {"id", -1}}, admin).json["error"]["field"] == "id");
  auto a = s.post("/api/agents/", {{"id", 5}, {"name", "Customer Service Agent"}, {"model", "echo"}}, admin);
  REQUIRE(a.status == 201);
  CHECK(a.json["id"] == 5);
  auto got = s.get("/api/agents/5/", s.token("1"));
  REQUIRE(got.status == 200);
  CHECK(got.json["name"] == "Customer Service Agent");
  CHECK(s.get("/api/agents/6/", s.token("1")).status == 404);
  CHECK(s.get("/api/agents/abc/", s.token("1")).status == 404);
  auto list = s.get("/api/agents/", s.token("1"));
  REQUIRE(list.status == 200);
  CHECK(list.json["count"] == 1);
}

TEST_CASE("agents registry: system prompts are for admins only", "[http][seed003][safety]") {
  LiveServer s;
  const auto admin = s.token("0", PrincipalRole::kAdmin);
  REQUIRE(s.post("/api/agents/", {{"id", 3}, {"name", "Bot"}, {"system_prompt", "Never reveal the discount code"}},
                 admin).status == 201);
  for (const auto& who : {s.token("1"), s.token("7", PrincipalRole::kAgent)}) {
    auto one = s.get("/api/agents/3/", who);
    REQUIRE(one.status == 200);
    CHECK(one.json["name"] == "Bot");
    CHECK(one.json.contains("system_prompt"));
    CHECK(one.json["system_prompt"].is_null());
    auto list = s.get("/api/agents/", who);
    REQUIRE(list.status == 200);
    CHECK(list.json["items"][0]["system_prompt"].is_null());
    CHECK(list.body.find("discount") == std::string::npos);
  }
  CHECK(s.get("/api/agents/3/", admin).json["system_prompt"] == "Never reveal the discount code");
  CHECK(s.get("/api/agents/", admin).json["items"][0]["system_prompt"] == "Never reveal the discount code");
}

TEST_CASE("seed 003: conversations CRUD with ownership", "[http][seed003]") {
  LiveServer s;
  const auto alice = s.token("1");
  const auto bob = s.token("2");
  const auto admin = s.token("99", PrincipalRole::kAdmin);
  const auto agent_id = make_agent(s, "Customer Service Agent");

  CHECK(s.get("/chat/conversations").status == 401);
  const auto id = make_conversation(s, alice, {{"title", "Customer Support Chat"}, {"agent_id", agent_id}});
  make_conversation(s, bob);

  auto list = s.get("/chat/conversations?limit=20&offset=0", alice);
  REQUIRE(list.status == 200);
  CHECK(list.json["success"] == true);
  CHECK(list.json["message"] == "Found 1 conversation");
  CHECK(list.json["data"]["total"] == 1);
  CHECK(list.json["data"]["limit"] == 20);
  CHECK(list.json["data"]["offset"] == 0);
  const auto& c = list.json["data"]["conversations"][0];
  CHECK(c["id"] == id);
  CHECK(c["title"] == "Customer Support Chat");
  CHECK(c["user_id"] == 1);
  CHECK(c["agent_id"] == agent_id);
  CHECK(c["conversation_type"] == "chat");
  CHECK(c["status"] == "active");
  CHECK(c["is_archived"] == false);
  CHECK(c["is_pinned"] == false);
  CHECK(c["total_messages"] == 0);
  CHECK(c["unread_count"] == 0);
  CHECK(c["last_message_at"].is_null());
  CHECK(c["created_at"] == "2026-01-01T00:00:00.000Z");
  CHECK(s.get("/chat/conversations", admin).json["data"]["total"] == 2);

  // Bad input.
  CHECK(s.post("/chat/conversations", json::object(), alice).json["error"]["field"] == "title");
  CHECK(s.post("/chat/conversations", {{"title", ""}}, alice).json["error"]["field"] == "title");
  CHECK(s.post("/chat/conversations", {{"title", 3}}, alice).json["error"]["field"] == "title");
  CHECK(s.post("/chat/conversations", {{"title", "t"}, {"agent_id", "5"}}, alice).json["error"]["field"] ==
        "agent_id");
  auto unknown_agent = s.post("/chat/conversations", {{"title", "t"}, {"agent_id", 777}}, alice);
  CHECK(unknown_agent.status == 404);
  CHECK(unknown_agent.json["error"]["field"] == "agent_id");
  CHECK(s.send("POST", "/chat/conversations", "{bad", alice).status == 400);
  for (const char* q : {"?limit=0", "?limit=101", "?limit=x", "?offset=-1"}) {
    auto r = s.get(std::string("/chat/conversations") + q, alice);
    CHECK(r.status == 400);
    CHECK((r.json["error"]["field"] == "limit" || r.json["error"]["field"] == "offset"));
  }
  CHECK(s.get("/chat/conversations", alice).json["data"]["total"] == 1);  // nothing written

  // Details, update, ownership.
  auto details = s.get(conv_path(id), alice);
  REQUIRE(details.status == 200);
  CHECK(details.json["message"] == "Conversation found");
  CHECK(details.json["data"]["id"] == id);
  CHECK(s.get(conv_path(id), bob).status == 404);
  CHECK(s.get(conv_path(id), admin).status == 200);
  CHECK(s.get(conv_path(424242), alice).status == 404);
  CHECK(s.get("/chat/conversations/abc", alice).status == 404);

  auto upd = s.put(conv_path(id), {{"title", "Updated Conversation Title"}, {"is_pinned", true}}, alice);
  REQUIRE(upd.status == 200);
  CHECK(upd.json["data"]["conversation_id"] == id);
  CHECK(upd.json["message"] == "Conversation updated successfully");
  auto after = s.get(conv_path(id), alice).json["data"];
  CHECK(after["title"] == "Updated Conversation Title");
  CHECK(after["is_pinned"] == true);
  REQUIRE(s.put(conv_path(id), {{"is_archived", true}, {"status", "closed"}}, alice).status == 200);
  after = s.get(conv_path(id), alice).json["data"];
  CHECK(after["is_archived"] == true);
  CHECK(after["status"] == "closed");
  CHECK(s.put(conv_path(id), {{"is_pinned", "yes"}}, alice).json["error"]["field"] == "is_pinned");
  CHECK(s.put(conv_path(id), {{"title", ""}}, alice).json["error"]["field"] == "title");
  CHECK(s.put(conv_path(id), {{"title", "x"}}, bob).status == 404);
  CHECK(s.get(conv_path(id), alice).json["data"]["title"] == "Updated Conversation Title");

  // Messages of another user's conversation: 404 everywhere.
  CHECK(s.get(conv_path(id, "/messages"), bob).status == 404);
  CHECK(s.post(conv_path(id, "/messages"), {{"content", "x"}}, bob).status == 404);
  CHECK(s.post(conv_path(id, "/ai-response"), {{"message", "x"}}, bob).status == 404);
  CHECK(s.post(conv_path(id, "/read"), json::object(), bob).status == 404);
  CHECK(s.get(conv_path(id, "/sessions"), bob).status == 404);
  CHECK(s.del(conv_path(id), bob).status == 404);

  // Delete (soft): gone from every read.
  auto del = s.del(conv_path(id), alice);
  REQUIRE(del.status == 200);
  CHECK(del.json["data"]["conversation_id"] == id);
  CHECK(s.get(conv_path(id), alice).status == 404);
  CHECK(s.get(conv_path(id, "/messages"), alice).status == 404);
  CHECK(s.get("/chat/conversations", alice).json["data"]["total"] == 0);
  CHECK(s.del(conv_path(id), alice).status == 404);
}

TEST_CASE("seed 003: messages, AI response, read state", "[http][seed003]") {
  LiveServer s;
  const auto alice = s.token("1");
  const auto agent_id = make_agent(s, "Customer Service Agent");
  const auto id = make_conversation(s, alice, {{"title", "Orders"}, {"agent_id", agent_id}});

  auto m = s.post(conv_path(id, "/messages"), {{"content", "My order number is #12345"}, {"sender_type", "user"}},
                  alice);
  REQUIRE(m.status == 201);
  CHECK(m.json["message"] == "Message added successfully");
  CHECK(m.json["data"]["sender"] == "user");
  CHECK(m.json["data"]["conversation_id"] == id);
  CHECK(m.json["data"]["content"] == "My order number is #12345");
  const std::int64_t user_msg = m.json["data"]["message_id"];

  s.clock->advance(2s);
  auto ai = s.post(conv_path(id, "/ai-response"),
                   {{"message", "My order number is #12345"}, {"agent_id", agent_id}, {"include_context", true}}, alice);
  REQUIRE(ai.status == 200);
  CHECK(ai.json["message"] == "AI response generated");
  CHECK(ai.json["data"]["ai_response"] == "Echo: My order number is #12345");
  CHECK(ai.json["data"]["tokens_used"].is_number_integer());
  CHECK(ai.json["data"]["processing_time"].is_number());
  CHECK(ai.json["data"]["cost"] == 0.0);
  CHECK(ai.json["data"]["user_message_id"] == user_msg);  // not stored twice
  CHECK(ai.json["data"]["created_at"] == "2026-01-01T00:00:02.000Z");

  auto msgs = s.get(conv_path(id, "/messages?limit=50&offset=0"), alice);
  REQUIRE(msgs.status == 200);
  CHECK(msgs.json["message"] == "Found 2 messages");
  CHECK(msgs.json["data"]["total"] == 2);
  const auto& list = msgs.json["data"]["messages"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["sender"] == "user");
  CHECK(list[1]["sender"] == "agent");
  CHECK(list[1]["status"] == "complete");
  CHECK(list[1]["tokens_used"].is_number_integer());
  CHECK(list[0]["tokens_used"].is_null());
  CHECK(list[0]["content_type"] == "text");
  CHECK(list[0]["message_type"] == "text");

  // A different text is stored as a new user message first.
  auto ai2 = s.post(conv_path(id, "/ai-response"), {{"message", "Where is it?"}}, alice);
  REQUIRE(ai2.status == 200);
  CHECK(s.get(conv_path(id, "/messages"), alice).json["data"]["total"] == 4);
  CHECK(s.post(conv_path(id, "/ai-response"), {{"agent_id", 999}}, alice).status == 404);
  CHECK(s.post(conv_path(id, "/ai-response"), {{"include_context", "yes"}}, alice).json["error"]["field"] ==
        "include_context");
  // The library's "content" is this route's "message" (too long for the service's byte limit).
  auto too_long = s.post(conv_path(id, "/ai-response"), {{"message", std::string(300 * 1024, 'x')}}, alice);
  CHECK(too_long.status == 400);
  CHECK(too_long.json["error"]["field"] == "message");
  CHECK(too_long.json["message"].get<std::string>().rfind("message", 0) == 0);

  // Counters: two AI replies unread; mark read.
  auto details = s.get(conv_path(id), alice).json["data"];
  CHECK(details["total_messages"] == 4);
  CHECK(details["unread_count"] == 2);
  CHECK(details["last_message_at"] == "2026-01-01T00:00:02.000Z");
  auto read = s.post(conv_path(id, "/read"), {{"up_to", ai.json["data"]["message_id"]}}, alice);
  REQUIRE(read.status == 200);
  CHECK(read.json["data"]["unread_count"] == 1);
  auto all_read = s.send("POST", conv_path(id, "/read"), "", alice);
  REQUIRE(all_read.status == 200);
  CHECK(all_read.json["data"]["unread_count"] == 0);
  CHECK(s.post(conv_path(id, "/read"), {{"up_to", -1}}, alice).json["error"]["field"] == "up_to");

  // sender_type agent: a plain user stores an assistant message (the AI persona),
  // an agent principal stores an agent message; both render as agent.
  auto persona = s.post(conv_path(id, "/messages"), {{"content", "as the bot"}, {"sender_type", "agent"}}, alice);
  REQUIRE(persona.status == 201);
  CHECK(persona.json["data"]["sender"] == "agent");
  auto stored = s.service->get_message(chat::Principal::user("1"),
                                       chat::MessageKey::of_id(persona.json["data"]["message_id"]));
  REQUIRE(stored.ok());
  CHECK(stored->role == chat::Role::kAssistant);
  auto human = s.post(conv_path(id, "/messages"), {{"content", "a human"}, {"sender_type", "agent"}},
                      s.token("7", PrincipalRole::kAgent));
  REQUIRE(human.status == 201);
  auto hs = s.service->get_message(chat::Principal::admin("0"),
                                   chat::MessageKey::of_id(human.json["data"]["message_id"]));
  CHECK(hs->role == chat::Role::kAgent);

  // Bad message input.
  CHECK(s.post(conv_path(id, "/messages"), json::object(), alice).json["error"]["field"] == "content");
  CHECK(s.post(conv_path(id, "/messages"), {{"content", "x"}, {"sender_type", "bot"}}, alice)
            .json["error"]["field"] == "sender_type");
  CHECK(s.get(conv_path(id, "/messages?limit=101"), alice).json["error"]["field"] == "limit");
  CHECK(s.get(conv_path(id, "/messages?offset=-5"), alice).json["error"]["field"] == "offset");
  auto page = s.get(conv_path(id, "/messages?limit=2&offset=4"), alice);
  CHECK(page.json["data"]["messages"].size() == 2);
  CHECK(page.json["data"]["total"] == 6);

  // Sessions: one so far; a new one after a 31-minute gap.
  s.clock->advance(31min);
  s.post(conv_path(id, "/messages"), {{"content", "back again"}}, alice);
  auto sessions = s.get(conv_path(id, "/sessions"), alice);
  REQUIRE(sessions.status == 200);
  CHECK(sessions.json["data"]["total"] == 2);
  CHECK(sessions.json["data"]["sessions"][0]["messages_count"] == 6);
  CHECK(sessions.json["data"]["sessions"][1]["session_start"] == "2026-01-01T00:31:02.000Z");
}

TEST_CASE("seed 003: analytics over HTTP", "[http][seed003]") {
  LiveServer s;
  const auto alice = s.token("1");
  const auto bob = s.token("2");
  const auto admin = s.token("99", PrincipalRole::kAdmin);
  const auto agent_id = make_agent(s, "Customer Service Agent");
  const auto a1 = make_conversation(s, alice, {{"title", "a"}, {"agent_id", agent_id}});
  s.post(conv_path(a1, "/messages"), {{"content", "hello"}}, alice);
  s.clock->advance(3s);
  s.post(conv_path(a1, "/ai-response"), {{"message", "hello"}}, alice);
  const auto gone = make_conversation(s, alice);
  s.post(conv_path(gone, "/messages"), {{"content", "deleted"}}, alice);
  s.del(conv_path(gone), alice);
  const auto b1 = make_conversation(s, bob, {{"title", "b"}, {"agent_id", agent_id}});
  s.post(conv_path(b1, "/messages"), {{"content", "bob"}}, bob);

  auto d = s.get("/chat/analytics/dashboard", alice);
  REQUIRE(d.status == 200);
  CHECK(d.json["message"] == "Analytics retrieved");
  const auto& data = d.json["data"];
  CHECK(data["total_conversations"] == 1);
  CHECK(data["total_messages"] == 2);
  CHECK(data["average_response_time"] == 3.0);
  CHECK(data["most_active_agent"]["agent_id"] == agent_id);
  CHECK(data["most_active_agent"]["name"] == "Customer Service Agent");
  CHECK(data["most_active_agent"]["message_count"] == 1);
  REQUIRE(data["daily_stats"].size() == 7);
  CHECK(data["daily_stats"][6]["date"] == "2026-01-01");
  CHECK(data["daily_stats"][6]["conversations"] == 1);
  CHECK(data["daily_stats"][6]["messages"] == 2);
  CHECK(data["total_sessions"] == 1);
  CHECK(s.get("/chat/analytics/dashboard?days=30", alice).json["data"]["daily_stats"].size() == 30);
  CHECK(s.get("/chat/analytics/dashboard?days=0", alice).json["error"]["field"] == "days");
  CHECK(s.get("/chat/analytics/dashboard").status == 401);

  CHECK(s.get("/chat/analytics/global", alice).status == 403);
  CHECK(s.get("/chat/analytics/global", s.token("5", PrincipalRole::kAgent)).status == 403);
  auto g = s.get("/chat/analytics/global", admin);
  REQUIRE(g.status == 200);
  CHECK(g.json["message"] == "Global analytics retrieved");
  CHECK(g.json["data"]["total_conversations_all_users"] == 2);
  CHECK(g.json["data"]["total_messages_all_users"] == 3);
  CHECK(g.json["data"]["average_conversations_per_user"] == 1.0);
  REQUIRE(g.json["data"]["top_performing_agents"].size() == 1);
  CHECK(g.json["data"]["top_performing_agents"][0]["total_conversations"] == 2);
  CHECK(g.json["data"]["top_performing_agents"][0]["success_rate"] == 100.0);
}

TEST_CASE("seed 003: search is scoped to the caller", "[http][seed003]") {
  LiveServer s;
  const auto alice = s.token("1");
  const auto bob = s.token("2");
  const auto a = make_conversation(s, alice);
  const auto b = make_conversation(s, bob);
  s.post(conv_path(a, "/messages"), {{"content", "I need help with my order"}}, alice);
  s.post(conv_path(a, "/messages"), {{"content", "héllo wörld"}}, alice);
  s.post(conv_path(b, "/messages"), {{"content", "bob's secret order"}}, bob);

  auto r = s.get("/chat/search?query=order&limit=20", alice);
  REQUIRE(r.status == 200);
  CHECK(r.json["message"] == "Found 1 result");
  CHECK(r.json["data"]["total"] == 1);
  CHECK(r.json["data"]["query"] == "order");
  REQUIRE(r.json["data"]["results"].size() == 1);
  CHECK(r.json["data"]["results"][0]["conversation_id"] == a);
  CHECK(r.json["data"]["results"][0]["sender"] == "user");
  CHECK(s.get("/chat/search?query=secret", alice).json["data"]["total"] == 0);
  CHECK(s.get("/chat/search?query=secret", bob).json["data"]["total"] == 1);
  CHECK(s.get("/chat/search?query=order", s.token("9", PrincipalRole::kAdmin)).json["data"]["total"] == 2);

  for (const char* q : {"%27%20OR%201%3D1%20--", "%22unclosed", "DROP%20TABLE%20messages%3B", "*", "NEAR(",
                        "h%C3%A9llo"}) {
    auto x = s.get(std::string("/chat/search?query=") + q, alice);
    CHECK(x.status == 200);
  }
  CHECK(s.get("/chat/search?query=h%C3%A9llo", alice).json["data"]["total"] == 1);
  CHECK(s.get("/chat/search?query=", alice).json["error"]["field"] == "query");
  CHECK(s.get("/chat/search", alice).json["error"]["field"] == "query");
  CHECK(s.get("/chat/search?query=%20%20", alice).json["error"]["field"] == "query");
  CHECK(s.get("/chat/search?query=x&limit=0", alice).json["error"]["field"] == "limit");
  CHECK(s.get("/chat/search?query=x&limit=101", alice).json["error"]["field"] == "limit");
  CHECK(s.get("/chat/search?query=order").status == 401);
  // Deleted messages are not found.
  s.del(conv_path(a), alice);
  CHECK(s.get("/chat/search?query=order", alice).json["data"]["total"] == 0);
}

TEST_CASE("seed 003: ownerless seed 002 chats are not reachable by integer id for plain users", "[http][seed003]") {
  LiveServer s;
  auto post = s.post("/api/messages/", {{"content", "anonymous customer"}});
  REQUIRE(post.status == 200);
  const std::string uuid = post.json["items"][0]["conversation"];
  auto c = s.service->get_conversation(chat::Principal::anonymous(), chat::ConversationKey::of_uuid(uuid));
  REQUIRE(c.ok());
  const auto user = s.token("1");
  CHECK(s.get(conv_path(c->id), user).status == 404);
  CHECK(s.get(conv_path(c->id, "/messages"), user).status == 404);
  CHECK(s.post(conv_path(c->id, "/messages"), {{"content", "x"}}, user).status == 404);
  CHECK(s.del(conv_path(c->id), user).status == 404);
  CHECK(s.get(conv_path(c->id), s.token("5", PrincipalRole::kAgent)).status == 200);
  CHECK(s.get(conv_path(c->id), s.token("6", PrincipalRole::kAdmin)).status == 200);
  CHECK(s.get("/api/messages/" + uuid + "/").json["count"] == 1);  // the widget still reads it by uuid
}
