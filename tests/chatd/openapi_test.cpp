// The OpenAPI document (docs/openapi.json, compiled in: api_docs.hpp) against
// the router: every route documented with its Access, nothing documented
// that the router lacks; and the two routes that serve it. The document's
// validity and the response shapes are checked by tests/web/ (node).
#include "api_docs.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "live_server.hpp"

namespace {

std::string access_word(const std::optional<chatd::Access>& a) {
  if (!a) return "";
  switch (*a) {
    case chatd::Access::kPublic: return "public";
    case chatd::Access::kOptional: return "optional";
    case chatd::Access::kUser: return "user";
    case chatd::Access::kAgent: return "agent";
    case chatd::Access::kAdmin: return "admin";
  }
  return "?";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("the OpenAPI document lists exactly the router's routes, with their Access", "[chatd][openapi]") {
  chatd_test::LiveServer s;
  const auto doc = nlohmann::json::parse(chatd::openapi_document());
  CHECK(doc.at("openapi") == "3.1.0");

  std::map<std::string, std::string> documented;  // "get /path" -> x-chatd-access ("" when none)
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      documented[method + " " + path] = op.value("x-chatd-access", "");
    }
  }
  std::map<std::string, std::string> routed;
  for (const auto& r : s.server->router().routes()) routed[lower(r.method) + " " + r.pattern] = access_word(r.access);

  for (const auto& [route, access] : routed) {
    INFO("routed: " << route);
    REQUIRE(documented.count(route) == 1);
    CHECK(documented[route] == access);
  }
  for (const auto& [route, access] : documented) {
    INFO("documented: " << route);
    CHECK(routed.count(route) == 1);
  }
  CHECK(routed.size() == documented.size());

  // Security follows Access: public -> none, optional -> anonymous or bearer, else bearer.
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      INFO(method << " " << path);
      const std::string a = op.value("x-chatd-access", "");
      const auto& sec = op.at("security");
      if (a == "public" || a.empty()) {
        CHECK(sec.empty());
      } else if (a == "optional") {
        CHECK(sec == nlohmann::json::parse(R"([{}, {"bearerAuth": []}])"));
        CHECK(op.at("responses").contains("401"));
      } else {
        CHECK(sec == nlohmann::json::parse(R"([{"bearerAuth": []}])"));
        CHECK(op.at("responses").contains("401"));
      }
    }
  }
}

TEST_CASE("GET /api/openapi.json and /api/docs serve the compiled-in files", "[chatd][openapi][live]") {
  chatd_test::LiveServer s;
  auto doc = s.get("/api/openapi.json");
  CHECK(doc.status == 200);
  CHECK(doc.body == chatd::openapi_document());
  CHECK(doc.json.at("info").at("title") == "chatd");
  CHECK(doc.headers.find("Content-Type")->second == "application/json");

  auto page = s.get("/api/docs");
  CHECK(page.status == 200);
  CHECK(page.headers.find("Content-Type")->second == "text/html; charset=utf-8");
  CHECK(page.body.find("/api/openapi.json") != std::string::npos);
  CHECK(page.headers.find("Content-Security-Policy")->second.find("default-src 'none'") != std::string::npos);
  // Offline: the page names no other origin to load from.
  CHECK(page.body.find("src=\"http") == std::string::npos);
  CHECK(page.body.find("href=\"http") == std::string::npos);
  CHECK(s.get("/api/docs/").status == 200);
}
