// Seed 000 over HTTP: the quote chat of a job, /api/jobs/<job_id>/quote-chat/.
#include <catch2/catch.hpp>

#include "chatd/live_server.hpp"

using nlohmann::json;
using chatd_test::LiveServer;
using namespace std::chrono_literals;

namespace {

const std::string kJob = "3f1c2a4e-8b7d-4c1a-9e2f-0a1b2c3d4e5f";
const std::string kChat = "/api/jobs/" + kJob + "/quote-chat/";

struct Fixture {
  LiveServer s;
  std::string alice = s.token("alice");
  std::string bob = s.token("bob");
  Fixture() { REQUIRE(s.post("/api/jobs/", {{"id", kJob}, {"title", "Quote me"}}, alice).status == 201); }

  chatd_test::HttpResult post(const json& body, const std::string& who = {}) {
    return s.post(kChat, body, who.empty() ? alice : who);
  }
};

void check_code(const chatd_test::HttpResult& r, int status, const std::string& code, const std::string& field = {}) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.json["success"] == false);
  CHECK(r.json["code"] == code);
  CHECK(r.json["message"].is_string());
  if (!field.empty()) CHECK(r.json["error"]["field"] == field);
}

}  // namespace

TEST_CASE("seed000: post, list, patch, clear", "[http][seed000]") {
  Fixture f;
  auto& s = f.s;
  auto empty = s.get(kChat, f.alice);
  REQUIRE(empty.status == 200);
  CHECK(empty.json == json({{"success", true}, {"data", {{"job_id", kJob}, {"messages", json::array()}}}}));

  auto p1 = f.post({{"message_id", "m1"}, {"role", "user"}, {"content", "Need 200 brackets"}});
  REQUIRE(p1.status == 201);
  CHECK(p1.json == json({{"success", true}, {"data", {{"message_id", "m1"}, {"timestamp", "2026-01-01T00:00:00.000Z"}}}}));
  s.clock->advance(1s);
  auto p2 = f.post({{"message_id", "m2"}, {"role", "assistant"}, {"content", "Thinking"},
                    {"metadata", {{"streaming", true}}}}, f.bob);  // a shared chat: any user
  REQUIRE(p2.status == 201);
  s.clock->advance(1s);
  REQUIRE(f.post({{"message_id", "m3"}, {"role", "user"}, {"content", "And paint?"}}).status == 201);

  auto list = s.get(kChat, f.bob);
  REQUIRE(list.status == 200);
  auto msgs = list.json["data"]["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0] == json({{"message_id", "m1"}, {"role", "user"}, {"content", "Need 200 brackets"},
                         {"timestamp", "2026-01-01T00:00:00.000Z"}, {"metadata", json::object()}}));
  CHECK(msgs[1]["message_id"] == "m2");
  CHECK(msgs[1]["metadata"]["streaming"] == true);
  CHECK(msgs[2]["message_id"] == "m3");

  // PATCH: content and metadata (replaced), keeps its place and timestamp.
  s.clock->advance(1s);
  auto patched = s.patch(kChat + "m2/", {{"content", "Quote: $400"}, {"metadata", {{"final", true}}}}, f.alice);
  REQUIRE(patched.status == 200);
  CHECK(patched.json["success"] == true);
  CHECK(patched.json["data"]["message_id"] == "m2");
  CHECK(patched.json["data"]["content"] == "Quote: $400");
  CHECK(patched.json["data"]["metadata"] == json({{"final", true}}));
  CHECK(patched.json["data"]["timestamp"] == "2026-01-01T00:00:01.000Z");
  CHECK(patched.json["data"]["updated_at"] == "2026-01-01T00:00:03.000Z");
  auto only_meta = s.patch(kChat + "m2", {{"metadata", {{"step", 2}}}}, f.alice);
  REQUIRE(only_meta.status == 200);
  CHECK(only_meta.json["data"]["content"] == "Quote: $400");
  CHECK(only_meta.json["data"]["metadata"] == json({{"step", 2}}));
  // Every edit is on the record: an audit entry (who, when) and the replaced content as a version.
  const auto admin = chat::Principal::admin("ops");
  auto edit_audit = s.service->list_audit(admin, {});
  REQUIRE(edit_audit.ok());
  std::vector<chat::AuditEntry> edits;
  for (const auto& e : *edit_audit)
    if (e.action == "message.edit") edits.push_back(e);
  REQUIRE(edits.size() == 2);
  for (const auto& e : edits) {
    CHECK(e.actor == "alice");
    CHECK(e.at == s.clock->now());
    CHECK(e.target_id == edits[0].target_id);
  }
  auto versions = s.service->list_message_versions(admin, chat::MessageKey::of_id(edits[0].target_id));
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 2);
  CHECK((*versions)[0].content == "Thinking");
  CHECK(json::parse((*versions)[0].metadata) == json({{"streaming", true}}));
  CHECK((*versions)[1].content == "Quote: $400");
  CHECK((*versions)[1].replaced_by == "alice");
  CHECK(s.service->list_message_versions(chat::Principal::user("alice"), chat::MessageKey::of_id(edits[0].target_id))
            .error()
            .code == chat::ErrorCode::kPermissionDenied);
  msgs = s.get(kChat, f.alice).json["data"]["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1]["message_id"] == "m2");
  CHECK(msgs[1]["content"] == "Quote: $400");

  // DELETE clears: soft delete of every message, audited, ids reusable.
  auto cleared = s.del(kChat, f.alice);
  REQUIRE(cleared.status == 200);
  CHECK(cleared.json == json({{"success", true}, {"data", {{"deleted_count", 3}}}}));
  CHECK(s.get(kChat, f.alice).json["data"]["messages"].empty());
  check_code(s.patch(kChat + "m1/", {{"content", "x"}}, f.alice), 404, "MESSAGE_NOT_FOUND");
  CHECK(s.del(kChat, f.alice).json["data"]["deleted_count"] == 0);
  auto reused = f.post({{"message_id", "m1"}, {"role", "user"}, {"content", "Fresh start"}});
  CHECK(reused.status == 201);
  msgs = s.get(kChat, f.alice).json["data"]["messages"];
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0]["content"] == "Fresh start");

  auto audit = s.service->list_audit(chat::Principal::admin("root"), {});
  REQUIRE(audit.ok());
  bool saw_clear = false;
  for (const auto& a : *audit) saw_clear = saw_clear || (a.action == "conversation.clear" && a.actor == "alice");
  CHECK(saw_clear);
}

TEST_CASE("seed000: an exact replay is 201 with the same data, a different message under the id is 400",
          "[http][seed000]") {
  Fixture f;
  const json m = {{"message_id", "m1"}, {"role", "user"}, {"content", "hello"}};
  auto first = f.post(m);
  REQUIRE(first.status == 201);
  f.s.clock->advance(5s);
  auto again = f.post(m);
  CHECK(again.status == 201);
  CHECK(again.json == first.json);
  check_code(f.post({{"message_id", "m1"}, {"role", "user"}, {"content", "other"}}), 400, "DUPLICATE_MESSAGE_ID",
             "message_id");
  check_code(f.post({{"message_id", "m1"}, {"role", "assistant"}, {"content", "hello"}}), 400,
             "DUPLICATE_MESSAGE_ID", "message_id");
  auto msgs = f.s.get(kChat, f.alice).json["data"]["messages"];
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0]["content"] == "hello");
}

TEST_CASE("seed000: unknown job, unknown message, bad input, auth", "[http][seed000]") {
  Fixture f;
  auto& s = f.s;
  const std::string other = "/api/jobs/00000000-0000-4000-8000-000000000000/quote-chat/";
  check_code(s.get(other, f.alice), 404, "JOB_NOT_FOUND");
  check_code(s.post(other, {{"message_id", "a"}, {"role", "user"}, {"content", "x"}}, f.alice), 404, "JOB_NOT_FOUND");
  check_code(s.del(other, f.alice), 404, "JOB_NOT_FOUND");
  check_code(s.patch(other + "a/", {{"content", "x"}}, f.alice), 404, "JOB_NOT_FOUND");
  check_code(s.patch(kChat + "nope/", {{"content", "x"}}, f.alice), 404, "MESSAGE_NOT_FOUND");

  check_code(f.post({{"role", "user"}, {"content", "x"}}), 400, "VALIDATION_ERROR", "message_id");
  check_code(f.post({{"message_id", 1}, {"role", "user"}, {"content", "x"}}), 400, "VALIDATION_ERROR", "message_id");
  check_code(f.post({{"message_id", "a"}, {"content", "x"}}), 400, "VALIDATION_ERROR", "role");
  check_code(f.post({{"message_id", "a"}, {"role", "system"}, {"content", "x"}}), 400, "VALIDATION_ERROR", "role");
  check_code(f.post({{"message_id", "a"}, {"role", "user"}}), 400, "VALIDATION_ERROR", "content");
  check_code(f.post({{"message_id", "a"}, {"role", "user"}, {"content", ""}}), 400, "VALIDATION_ERROR", "content");
  check_code(f.post({{"message_id", "a"}, {"role", "user"}, {"content", "x"}, {"metadata", "s"}}), 400,
             "VALIDATION_ERROR", "metadata");
  check_code(f.post({{"message_id", std::string(200, 'a')}, {"role", "user"}, {"content", "x"}}), 400,
             "VALIDATION_ERROR", "message_id");
  check_code(s.send("POST", kChat, "{oops", f.alice), 400, "VALIDATION_ERROR");
  REQUIRE(f.post({{"message_id", "a"}, {"role", "user"}, {"content", "x"}}).status == 201);
  check_code(s.patch(kChat + "a/", json::object(), f.alice), 400, "VALIDATION_ERROR", "content");
  check_code(s.patch(kChat + "a/", {{"content", ""}}, f.alice), 400, "VALIDATION_ERROR", "content");
  check_code(s.patch(kChat + "a/", {{"content", 3}}, f.alice), 400, "VALIDATION_ERROR", "content");
  check_code(s.patch(kChat + "a/", {{"metadata", json::array()}}, f.alice), 400, "VALIDATION_ERROR", "metadata");
  CHECK(s.get(kChat, f.alice).json["data"]["messages"][0]["content"] == "x");

  CHECK(s.get(kChat).status == 401);
  CHECK(s.post(kChat, {{"message_id", "b"}, {"role", "user"}, {"content", "x"}}).status == 401);
  CHECK(s.del(kChat).status == 401);
  CHECK(s.get(kChat, "not-a-token").status == 401);
  CHECK(s.send("PUT", kChat, "{}", f.alice).status == 405);
  CHECK(s.get(kChat + "a/", f.alice).status == 405);
  CHECK(s.get("/api/jobs/" + kJob + "/quote-chat", f.alice).status == 200);  // without the trailing slash
  CHECK(s.get(kChat, f.alice).json["data"]["messages"].size() == 1);
}
