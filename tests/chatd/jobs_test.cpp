// The jobs registry: POST /api/jobs/, GET /api/jobs/<id>/.
#include <catch2/catch.hpp>

#include "chatd/live_server.hpp"

using nlohmann::json;
using chatd_test::LiveServer;

TEST_CASE("jobs: register with or without an id, read back", "[http][seed000]") {
  LiveServer s;
  const auto alice = s.token("alice");
  auto made = s.post("/api/jobs/", {{"title", "Bracket x 200"}, {"description", "steel, 3 mm"}}, alice);
  REQUIRE(made.status == 201);
  const std::string id = made.json["id"];
  CHECK(id.size() == 36);
  auto got = s.get("/api/jobs/" + id + "/", alice);
  REQUIRE(got.status == 200);
  CHECK(got.json["id"] == id);
  CHECK(got.json["title"] == "Bracket x 200");
  CHECK(got.json["description"] == "steel, 3 mm");
  CHECK(got.json["created_by"] == "alice");
  CHECK(got.json["created_at"] == "2026-01-01T00:00:00.000Z");
  CHECK(s.get("/api/jobs/" + id, s.token("bob")).status == 200);  // any authenticated user

  auto named = s.post("/api/jobs", {{"id", "job-7"}, {"title", "t"}}, alice);
  REQUIRE(named.status == 201);
  CHECK(named.json["id"] == "job-7");
  auto numeric = s.post("/api/jobs/", {{"id", 42}, {"title", "t"}, {"description", ""}}, alice);
  REQUIRE(numeric.status == 201);
  CHECK(numeric.json["id"] == "42");
  CHECK(s.get("/api/jobs/42/", alice).status == 200);

  // The creator may update its job; anyone else gets 409.
  CHECK(s.post("/api/jobs/", {{"id", "job-7"}, {"title", "t2"}}, alice).status == 201);
  CHECK(s.get("/api/jobs/job-7/", alice).json["title"] == "t2");
  auto taken = s.post("/api/jobs/", {{"id", "job-7"}, {"title", "mine"}}, s.token("bob"));
  CHECK(taken.status == 409);
  CHECK(taken.json["error"]["field"] == "id");
}

TEST_CASE("jobs: auth and bad input", "[http][seed000]") {
  LiveServer s;
  const auto alice = s.token("alice");
  CHECK(s.post("/api/jobs/", {{"title", "t"}}).status == 401);
  CHECK(s.get("/api/jobs/x/").status == 401);
  CHECK(s.post("/api/jobs/", {{"title", "t"}}, "bad").status == 401);
  auto no_title = s.post("/api/jobs/", {{"description", "d"}}, alice);
  CHECK(no_title.status == 400);
  CHECK(no_title.json["error"]["field"] == "title");
  CHECK(s.post("/api/jobs/", {{"title", 5}}, alice).json["error"]["field"] == "title");
  CHECK(s.post("/api/jobs/", {{"title", "t"}, {"id", true}}, alice).json["error"]["field"] == "id");
  CHECK(s.post("/api/jobs/", {{"title", "t"}, {"id", ""}}, alice).json["error"]["field"] == "id");
  CHECK(s.post("/api/jobs/", {{"title", "t"}, {"description", 1}}, alice).json["error"]["field"] == "description");
  CHECK(s.send("POST", "/api/jobs/", "{x", alice).status == 400);
  CHECK(s.get("/api/jobs/unknown/", alice).status == 404);
  CHECK(s.send("DELETE", "/api/jobs/unknown/", "", alice).status == 405);
}
