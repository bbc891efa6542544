// Seed 001 over HTTP: sessions, messages and non-streaming chat under /api/chats/.
#include <catch2/catch.hpp>

#include "chatd/live_server.hpp"

using nlohmann::json;
using chatd_test::LiveServer;
using namespace std::chrono_literals;

namespace {

json create_session(const LiveServer& s, const json& body = json::object()) {
  auto r = s.post("/api/chats/sessions/", body);
  REQUIRE(r.status == 201);
  return r.json;
}

json post_message(const LiveServer& s, const std::string& session_id, const std::string& text,
                  const std::string& role = "user", const std::string& bearer = {}) {
  auto r = s.post("/api/chats/messages/", {{"session_id", session_id}, {"message", text}, {"role", role}}, bearer);
  REQUIRE(r.status == 201);
  return r.json;
}

void check_error(const chatd_test::HttpResult& r, int status, const std::string& field = {}) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.json["success"] == false);
  if (!field.empty()) CHECK(r.json["error"]["field"] == field);
}

}  // namespace

TEST_CASE("seed001: create a session with defaults and with every field", "[http][seed001]") {
  LiveServer s;
  auto a = create_session(s);
  CHECK(a["id"].get<std::string>().size() == 36);
  CHECK(a["session_id"].get<std::string>().rfind("sess_", 0) == 0);
  CHECK(a["external_user_id"].is_null());
  CHECK(a["created_at"] == "2026-01-01T00:00:00.000Z");
  CHECK(a["expires_at"] == "2026-01-02T00:00:00.000Z");  // 24 h default
  CHECK(a["is_active"] == true);
  CHECK(a["is_expired"] == false);
  CHECK(a["metadata"] == json::object());

  auto b = create_session(s, {{"session_id", "landing-42"},
                              {"external_user_id", "user123"},
                              {"metadata", {{"device", "web"}}},
                              {"expires_at", "2026-01-05T12:00:00Z"}});
  CHECK(b["session_id"] == "landing-42");
  CHECK(b["external_user_id"] == "user123");
  CHECK(b["metadata"]["device"] == "web");
  CHECK(b["expires_at"] == "2026-01-05T12:00:00.000Z");

  // An empty body is a session with defaults.
  CHECK(s.send("POST", "/api/chats/sessions", "").status == 201);
}

TEST_CASE("seed001: bad session input names the field and writes nothing", "[http][seed001]") {
  LiveServer s;
  check_error(s.send("POST", "/api/chats/sessions/", "{nope"), 400);
  check_error(s.send("POST", "/api/chats/sessions/", "[1]"), 400);
  check_error(s.post("/api/chats/sessions/", {{"session_id", 5}}), 400, "session_id");
  check_error(s.post("/api/chats/sessions/", {{"session_id", "has space"}}), 400, "session_id");
  check_error(s.post("/api/chats/sessions/", {{"external_user_id", true}}), 400, "external_user_id");
  check_error(s.post("/api/chats/sessions/", {{"metadata", "x"}}), 400, "metadata");
  check_error(s.post("/api/chats/sessions/", {{"expires_at", "tomorrow"}}), 400, "expires_at");
  check_error(s.post("/api/chats/sessions/", {{"expires_at", "2020-01-01T00:00:00Z"}}), 400, "expires_at");
  const auto admin = s.token("root", chat::PrincipalRole::kAdmin);
  auto list = s.get("/api/chats/sessions/", admin);
  REQUIRE(list.status == 200);
  CHECK(list.json.empty());

  create_session(s, {{"session_id", "dup"}});
  check_error(s.post("/api/chats/sessions/", {{"session_id", "dup"}}), 409, "session_id");
  CHECK(s.get("/api/chats/sessions/", admin).json.size() == 1);
}

TEST_CASE("seed001: read a session by uuid or session_id, with or without the trailing slash",
          "[http][seed001]") {
  LiveServer s;
  auto a = create_session(s, {{"session_id", "abc"}});
  for (const std::string& path : std::vector<std::string>{"/api/chats/sessions/abc/", "/api/chats/sessions/abc",
                                 "/api/chats/sessions/" + a["id"].get<std::string>() + "/"}) {
    auto r = s.get(path);
    INFO(path);
    REQUIRE(r.status == 200);
    CHECK(r.json == a);
  }
  check_error(s.get("/api/chats/sessions/nope/"), 404);
  CHECK(s.get("/api/chats/sessions/nope/").json["message"] == "session not found");
  check_error(s.get("/api/chats/sessions/00000000-0000-4000-8000-000000000000/"), 404);
  // An anonymous session is not reached by its guessable integer id (uuid and session_id are its capabilities).
  auto by_id = s.service->get_conversation(chat::Principal::anonymous(), chat::ConversationKey::of_any("abc"));
  REQUIRE(by_id.ok());
  auto by_number = s.get("/api/chats/sessions/" + std::to_string(by_id->id) + "/");
  check_error(by_number, 404);
  CHECK(by_number.json["message"] == "session not found");
  // Wrong method: 405 with Allow.
  auto r = s.send("PATCH", "/api/chats/sessions/abc/", "{}");
  CHECK(r.status == 405);
  CHECK(s.send("PUT", "/api/chats/sessions/", "{}").status == 405);
}

TEST_CASE("seed001: list sessions with filters and pages", "[http][seed001]") {
  LiveServer s;
  create_session(s, {{"session_id", "s-one"}, {"external_user_id", "u1"}});
  s.clock->advance(1s);
  create_session(s, {{"session_id", "s-two"}, {"external_user_id", "u2"}});
  s.clock->advance(1s);
  create_session(s, {{"session_id", "other"}, {"external_user_id", "u1"}});

  const auto admin = s.token("root", chat::PrincipalRole::kAdmin);
  auto all = s.get("/api/chats/sessions/", admin);
  REQUIRE(all.status == 200);
  REQUIRE(all.json.size() == 3);
  CHECK(all.json[0]["session_id"] == "other");  // newest first

  CHECK(s.get("/api/chats/sessions/?external_user_id=u1", admin).json.size() == 2);
  CHECK(s.get("/api/chats/sessions/?search=s-", admin).json.size() == 2);
  CHECK(s.get("/api/chats/sessions/?search=U2", admin).json.size() == 1);
  CHECK(s.get("/api/chats/sessions/?is_active=true", admin).json.size() == 3);
  CHECK(s.get("/api/chats/sessions/?is_active=false", admin).json.empty());
  auto page = s.get("/api/chats/sessions/?limit=1&offset=1", admin);
  REQUIRE(page.json.size() == 1);
  CHECK(page.json[0]["session_id"] == "s-two");
  check_error(s.get("/api/chats/sessions/?is_active=maybe", admin), 400, "is_active");
  check_error(s.get("/api/chats/sessions/?limit=0", admin), 400, "limit");
  check_error(s.get("/api/chats/sessions/?limit=1001", admin), 400, "limit");
  check_error(s.get("/api/chats/sessions/?offset=-1", admin), 400, "offset");
}

TEST_CASE("seed001: sessions of a token holder are theirs, a bad token is 401", "[http][seed001]") {
  LiveServer s;
  const auto alice = s.token("alice");
  auto own = s.post("/api/chats/sessions/", {{"session_id", "alices"}}, alice);
  REQUIRE(own.status == 201);
  create_session(s, {{"session_id", "public"}});
  CHECK(s.get("/api/chats/sessions/alices/").status == 404);  // not the anonymous caller's
  CHECK(s.get("/api/chats/sessions/alices/", alice).status == 200);
  auto mine = s.get("/api/chats/sessions/", alice);
  REQUIRE(mine.json.size() == 1);
  CHECK(mine.json[0]["session_id"] == "alices");
  CHECK(s.get("/api/chats/sessions/", "garbage").status == 401);
  CHECK(s.post("/api/chats/sessions/", json::object(), "garbage").status == 401);
}

TEST_CASE("seed001: messages: create, list with filters, get, soft delete", "[http][seed001]") {
  LiveServer s;
  auto sess = create_session(s, {{"session_id", "chat-1"}});
  auto m1 = post_message(s, "chat-1", "Hello there");
  CHECK(m1["id"].get<std::string>().size() == 36);
  CHECK(m1["message"] == "Hello there");
  CHECK(m1["role"] == "user");
  CHECK(m1["metadata"] == json::object());
  CHECK(m1["timestamp"] == "2026-01-01T00:00:00.000Z");
  CHECK(m1["session"]["id"] == sess["id"]);
  CHECK(m1["session"]["session_id"] == "chat-1");
  s.clock->advance(1s);
  // Assistant and system rows speak for the service: an agent or admin token (an anonymous caller gets 403).
  const auto agent = s.token("desk", chat::PrincipalRole::kAgent);
  auto r = s.post("/api/chats/messages/", {{"session_id", sess["id"]},  // by uuid too
                                           {"message", "Sources attached"},
                                           {"role", "assistant"},
                                           {"metadata", {{"sources", {1, 2}}}}},
                  agent);
  REQUIRE(r.status == 201);
  auto m2 = r.json;
  CHECK(m2["metadata"]["sources"] == json({1, 2}));
  s.clock->advance(1s);
  auto m3 = post_message(s, "chat-1", "be brief", "system", s.token("root", chat::PrincipalRole::kAdmin));

  auto list = s.get("/api/chats/messages/?session_id=chat-1");
  REQUIRE(list.status == 200);
  REQUIRE(list.json.size() == 3);
  CHECK(list.json[0]["id"] == m1["id"]);  // chronological
  CHECK(list.json[1]["id"] == m2["id"]);
  CHECK(list.json[2]["id"] == m3["id"]);
  CHECK(list.json[0]["session"]["session_id"] == "chat-1");
  CHECK(s.get("/api/chats/messages/?session_id=" + sess["id"].get<std::string>()).json.size() == 3);
  CHECK(s.get("/api/chats/messages/?session_id=chat-1&role=assistant").json.size() == 1);
  CHECK(s.get("/api/chats/messages/?session_id=chat-1&search=HELLO").json.size() == 1);
  CHECK(s.get("/api/chats/messages/?session_id=chat-1&limit=1&offset=2").json[0]["id"] == m3["id"]);

  auto one = s.get("/api/chats/messages/" + m2["id"].get<std::string>() + "/");
  REQUIRE(one.status == 200);
  CHECK(one.json == m2);

  // Soft delete: 204, then gone from every read path.
  auto del = s.del("/api/chats/messages/" + m2["id"].get<std::string>());
  CHECK(del.status == 204);
  CHECK(del.body.empty());
  CHECK(s.get("/api/chats/messages/" + m2["id"].get<std::string>() + "/").status == 404);
  CHECK(s.del("/api/chats/messages/" + m2["id"].get<std::string>() + "/").status == 404);
  CHECK(s.get("/api/chats/messages/?session_id=chat-1").json.size() == 2);
  CHECK(s.get("/api/chats/messages/?session_id=chat-1&role=assistant").json.empty());
  CHECK(s.get("/api/chats/messages/?session_id=chat-1&search=Sources").json.empty());
}

TEST_CASE("seed001: bad message input", "[http][seed001]") {
  LiveServer s;
  create_session(s, {{"session_id", "x"}});
  check_error(s.get("/api/chats/messages/"), 400, "session_id");
  check_error(s.get("/api/chats/messages/?session_id="), 400, "session_id");
  check_error(s.get("/api/chats/messages/?session_id=nope"), 404);
  check_error(s.get("/api/chats/messages/?session_id=x&role=agent"), 400, "role");
  check_error(s.post("/api/chats/messages/", {{"message", "hi"}}), 400, "session_id");
  check_error(s.post("/api/chats/messages/", {{"session_id", "x"}}), 400, "message");
  check_error(s.post("/api/chats/messages/", {{"session_id", "x"}, {"message", "  "}}), 400, "message");
  check_error(s.post("/api/chats/messages/", {{"session_id", "x"}, {"message", 3}}), 400, "message");
  check_error(s.post("/api/chats/messages/", {{"session_id", "x"}, {"message", "hi"}, {"role", "boss"}}), 400,
              "role");
  check_error(s.post("/api/chats/messages/", {{"session_id", "x"}, {"message", "hi"}, {"metadata", 1}}), 400,
              "metadata");
  check_error(s.post("/api/chats/messages/", {{"session_id", "nope"}, {"message", "hi"}}), 404);
  check_error(s.send("POST", "/api/chats/messages/", "{\"session_id\":"), 400);
  check_error(s.get("/api/chats/messages/not-a-uuid/"), 404);
  check_error(s.get("/api/chats/messages/00000000-0000-4000-8000-000000000000/"), 404);
  CHECK(s.send("PUT", "/api/chats/messages/00000000-0000-4000-8000-000000000000/", "{}").status == 405);
  CHECK(s.get("/api/chats/messages/?session_id=x").json.empty());
}

TEST_CASE("seed001: deleting a session hides it and its messages everywhere", "[http][seed001]") {
  LiveServer s;
  auto sess = create_session(s, {{"session_id", "doomed"}});
  auto m = post_message(s, "doomed", "bye");
  auto del = s.del("/api/chats/sessions/" + sess["id"].get<std::string>() + "/");
  CHECK(del.status == 204);
  CHECK(s.get("/api/chats/sessions/doomed/").status == 404);
  const auto admin = s.token("root", chat::PrincipalRole::kAdmin);
  CHECK(s.get("/api/chats/sessions/", admin).json.empty());
  CHECK(s.get("/api/chats/sessions/?search=doomed", admin).json.empty());
  CHECK(s.get("/api/chats/messages/?session_id=doomed").status == 404);
  CHECK(s.get("/api/chats/messages/" + m["id"].get<std::string>() + "/").status == 404);
  CHECK(s.post("/api/chats/messages/", {{"session_id", "doomed"}, {"message", "x"}}).status == 404);
  CHECK(s.post("/api/chats/messages/chat/", {{"session_id", "doomed"}, {"message", "x"}}).status == 404);
  CHECK(s.del("/api/chats/sessions/doomed/").status == 404);
}

TEST_CASE("seed001: an expired or inactive session is readable but refuses writes with 410", "[http][seed001]") {
  LiveServer s;
  create_session(s, {{"session_id", "short"}, {"expires_at", "2026-01-01T01:00:00Z"}});
  post_message(s, "short", "before");
  s.clock->advance(2h);
  auto got = s.get("/api/chats/sessions/short/");
  REQUIRE(got.status == 200);
  CHECK(got.json["is_active"] == true);  // as stored
  CHECK(got.json["is_expired"] == true);
  check_error(s.post("/api/chats/messages/", {{"session_id", "short"}, {"message", "after"}}), 410);
  check_error(s.post("/api/chats/messages/chat/", {{"session_id", "short"}, {"message", "after"}}), 410);
  check_error(s.post("/api/chats/messages/chat/stream/", {{"session_id", "short"}, {"message", "after"}}), 410);
  CHECK(s.get("/api/chats/messages/?session_id=short").json.size() == 1);

  // Deactivated (through the library: the seed has no route for it).
  create_session(s, {{"session_id", "off"}});
  chat::ConversationPatch patch;
  patch.is_active = false;
  REQUIRE(s.service->update_conversation(chat::Principal::anonymous(),
                                         chat::ConversationKey::of_handle("off"), patch).ok());
  CHECK(s.get("/api/chats/sessions/?is_active=false", s.token("root", chat::PrincipalRole::kAdmin)).json.size() == 1);
  check_error(s.post("/api/chats/messages/chat/", {{"session_id", "off"}, {"message", "x"}}), 410);
}

TEST_CASE("seed001: non-streaming chat stores both messages", "[http][seed001]") {
  LiveServer s;
  create_session(s, {{"session_id", "talk"}});
  auto r = s.post("/api/chats/messages/chat/", {{"session_id", "talk"}, {"message", "What is AI?"}});
  REQUIRE(r.status == 200);
  CHECK(r.json["response"] == "Echo: What is AI?");
  CHECK(r.json["session_id"] == "talk");
  auto list = s.get("/api/chats/messages/?session_id=talk");
  REQUIRE(list.json.size() == 2);
  CHECK(list.json[0]["id"] == r.json["message_id"]);
  CHECK(list.json[0]["role"] == "user");
  CHECK(list.json[1]["id"] == r.json["response_id"]);
  CHECK(list.json[1]["role"] == "assistant");
  CHECK(list.json[1]["message"] == "Echo: What is AI?");

  check_error(s.post("/api/chats/messages/chat/", {{"message", "x"}}), 400, "session_id");
  check_error(s.post("/api/chats/messages/chat/", {{"session_id", "talk"}}), 400, "message");
  check_error(s.post("/api/chats/messages/chat/", {{"session_id", "nope"}, {"message", "x"}}), 404);
  check_error(s.send("POST", "/api/chats/messages/chat", "not json"), 400);
  CHECK(s.send("PUT", "/api/chats/messages/chat/", "{}").status == 405);
  CHECK(s.get("/api/chats/messages/?session_id=talk").json.size() == 2);
}

TEST_CASE("seed001: routes never reach other kinds of threads", "[http][seed001]") {
  LiveServer s;
  chat::NewConversation c;
  c.kind = chat::ConversationKind::kSupport;
  c.handle = "support-1";
  auto support = s.service->create_conversation(chat::Principal::anonymous(), c);
  REQUIRE(support.ok());
  chat::NewMessage m;
  m.content = "private";
  // By uuid: an ownerless conversation's integer id reaches it for agents and admins only.
  auto posted = s.service->post_message(chat::Principal::anonymous(), chat::ConversationKey::of_uuid(support->uuid), m);
  REQUIRE(posted.ok());
  CHECK(s.get("/api/chats/sessions/support-1/").status == 404);
  CHECK(s.get("/api/chats/messages/?session_id=support-1").status == 404);
  CHECK(s.get("/api/chats/messages/" + posted->message.uuid + "/").status == 404);
  CHECK(s.del("/api/chats/messages/" + posted->message.uuid + "/").status == 404);
  CHECK(s.get("/api/chats/sessions/", s.token("root", chat::PrincipalRole::kAdmin)).json.empty());
}

TEST_CASE("seed001: anonymous callers reach a session only by its capability", "[http][seed001][safety]") {
  LiveServer s;
  auto mine = create_session(s, {{"external_user_id", "visitor-7"}, {"metadata", {{"device", "web"}}}});
  // Generated session_ids carry 128 random bits: "sess_" + 32 hex.
  const std::string sid = mine["session_id"].get<std::string>();
  CHECK(sid.size() == 5 + 32);
  CHECK(sid.find_first_not_of("0123456789abcdef", 5) == std::string::npos);
  CHECK(create_session(s)["session_id"] != mine["session_id"]);

  // No listing or search without a token: 401, whatever the filter.
  for (const std::string q : {"", "?external_user_id=visitor-7", "?search=sess_", "?is_active=true"}) {
    INFO(q);
    check_error(s.get("/api/chats/sessions/" + q), 401);
  }
  // Agents and admins list the public sessions; a user token lists its own (none here).
  auto by_agent = s.get("/api/chats/sessions/?external_user_id=visitor-7", s.token("desk", chat::PrincipalRole::kAgent));
  REQUIRE(by_agent.status == 200);
  REQUIRE(by_agent.json.size() == 1);
  CHECK(by_agent.json[0]["session_id"] == sid);
  CHECK(s.get("/api/chats/sessions/", s.token("root", chat::PrincipalRole::kAdmin)).json.size() == 2);
  CHECK(s.get("/api/chats/sessions/", s.token("alice")).json.empty());

  // No integer ids: neither the session nor its messages are walked by number.
  auto got = s.service->get_conversation(chat::Principal::anonymous(), chat::ConversationKey::of_any(sid));
  REQUIRE(got.ok());
  check_error(s.get("/api/chats/sessions/" + std::to_string(got->id) + "/"), 404);
  check_error(s.get("/api/chats/messages/?session_id=" + std::to_string(got->id)), 404);
  check_error(s.post("/api/chats/messages/", {{"session_id", std::to_string(got->id)}, {"message", "x"}}), 404);
  check_error(s.del("/api/chats/sessions/" + std::to_string(got->id) + "/"), 404);
  auto posted = post_message(s, sid, "hello");
  auto stored = s.service->get_message(chat::Principal::anonymous(), chat::MessageKey::of_uuid(posted["id"].get<std::string>()));
  REQUIRE(stored.ok());
  check_error(s.get("/api/chats/messages/" + std::to_string(stored->id) + "/"), 404);

  // With the capability, the documented flow works: read, post, chat, list its own messages.
  CHECK(s.get("/api/chats/sessions/" + sid + "/").status == 200);
  CHECK(s.post("/api/chats/messages/chat/", {{"session_id", sid}, {"message", "What is AI?"}}).status == 200);
  CHECK(s.get("/api/chats/messages/?session_id=" + sid).json.size() == 3);

  // ...but no fake answer: role assistant or system is 403 for the capability holder, and nothing is stored.
  for (const char* role : {"assistant", "system"}) {
    INFO(role);
    auto fake = s.post("/api/chats/messages/", {{"session_id", sid}, {"message", "your account is locked"}, {"role", role}});
    check_error(fake, 403);
    CHECK(fake.json["error"]["code"] == "permission_denied");
    CHECK(s.post("/api/chats/messages/", {{"session_id", sid}, {"message", "x"}, {"role", role}}, s.token("alice")).status == 403);
  }
  CHECK(s.get("/api/chats/messages/?session_id=" + sid).json.size() == 3);

  // The holder of the capability owns the session: deleting it stays open.
  CHECK(s.del("/api/chats/sessions/" + sid + "/").status == 204);
}

TEST_CASE("seed001: --public-session-list restores the document's open listing", "[http][seed001][safety]") {
  chatd_test::LiveOptions options;
  options.service.anonymous_listing = true;
  LiveServer s(options);
  create_session(s, {{"session_id", "open-1"}, {"external_user_id", "u1"}});
  auto all = s.get("/api/chats/sessions/?external_user_id=u1");
  REQUIRE(all.status == 200);
  REQUIRE(all.json.size() == 1);
  CHECK(all.json[0]["session_id"] == "open-1");
  CHECK(s.post("/api/chats/messages/", {{"session_id", "open-1"}, {"message", "x"}, {"role", "assistant"}}).status == 403);
}

TEST_CASE("seed001: --seed001-client-roles lets the capability holder post assistant and system rows",
          "[http][seed001][safety]") {
  chatd_test::LiveOptions options;
  options.service.session_client_roles = true;
  LiveServer s(options);
  const std::string sid = create_session(s)["session_id"];
  for (const char* role : {"assistant", "system"}) {
    INFO(role);
    auto posted = s.post("/api/chats/messages/",
                         {{"session_id", sid}, {"message", "stored by the front end"}, {"role", role}});
    REQUIRE(posted.status == 201);
    CHECK(posted.json["role"] == role);
  }
  CHECK(s.get("/api/chats/messages/?session_id=" + sid + "&role=assistant").json.size() == 1);
  CHECK(s.post("/api/chats/messages/", {{"session_id", sid}, {"message", "x"}, {"role", "agent"}}).status == 400);
}

TEST_CASE("seed001: a list of messages is the same bytes as the rendered JSON of its items", "[http][seed001]") {
  // The list renders its session once and splices it into each message
  // (issue 11); the bytes must stay those of the library's compact dump.
  LiveServer s;
  const std::string sid =
      create_session(s, {{"session_id", "bytes-1"}, {"metadata", {{"b", {1, 2.5, "x\u00e9\n"}}, {"a", nullptr}}}})["session_id"];
  post_message(s, sid, "plain");
  CHECK(s.post("/api/chats/messages/", {{"session_id", sid},
                                        {"message", "quotes \" and \\ and \u00fc\u2028 and \t"},
                                        {"metadata", {{"session", nullptr}, {"z", {{"timestamp", "t"}}}}}})
            .status == 201);
  auto list = s.get("/api/chats/messages/?session_id=" + sid);
  REQUIRE(list.status == 200);
  REQUIRE(list.json.size() == 2);
  CHECK(list.json[1]["metadata"]["session"].is_null());
  CHECK(list.json[1]["session"]["metadata"]["b"][1] == 2.5);
  CHECK(list.body == list.json.dump(-1, ' ', false, json::error_handler_t::replace));
  auto empty = s.get("/api/chats/messages/?session_id=" + sid + "&role=system");
  REQUIRE(empty.status == 200);
  CHECK(empty.body == "[]");
}
