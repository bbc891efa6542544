#include <httplib.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "router.hpp"

using chatd::RouteMatch;
using chatd::Router;

namespace {

chatd::Handler tagged(std::string tag, std::string* out) {
  return [tag, out](const httplib::Request&, httplib::Response&, const chatd::PathParams&, const chatd::RequestScope&) { *out = tag; };
}

std::string run(const Router& r, std::string_view method, std::string_view path) {
  auto m = r.match(method, path);
  if (m.kind == RouteMatch::Kind::kFound) return "found";
  return m.kind == RouteMatch::Kind::kNotFound ? "404" : "405 " + m.allow;
}

}  // namespace

TEST_CASE("router: literal and parameter segments, trailing slash optional", "[chatd][http]") {
  Router r;
  std::string hit;
  r.get("/api/chats/", tagged("list", &hit));
  r.post("/api/chats", tagged("create", &hit));
  r.get("/api/chats/{session_id}/messages/", tagged("messages", &hit));
  r.get("/", tagged("root", &hit));

  for (std::string path : {"/api/chats", "/api/chats/"}) {
    auto m = r.match("GET", path);
    REQUIRE(m.kind == RouteMatch::Kind::kFound);
    httplib::Response res;
    (*m.handler)(httplib::Request{}, res, m.params, chatd::RequestScope{});
    CHECK(hit == "list");
    CHECK(r.match("POST", path).kind == RouteMatch::Kind::kFound);
  }
  auto m = r.match("GET", "/api/chats/abc-123/messages");
  REQUIRE(m.kind == RouteMatch::Kind::kFound);
  CHECK(m.params.get("session_id") == "abc-123");
  CHECK(m.params.has("session_id"));
  CHECK_FALSE(m.params.has("other"));
  CHECK(m.params.get("other").empty());
  CHECK(*m.pattern == "/api/chats/{session_id}/messages/");
  CHECK(r.match("GET", "/api/chats/abc/messages/").kind == RouteMatch::Kind::kFound);
  CHECK(r.match("GET", "/").kind == RouteMatch::Kind::kFound);

  CHECK(r.match("GET", "/api/chats//messages").kind == RouteMatch::Kind::kNotFound);  // empty segment
  CHECK(r.match("GET", "/api/chats/a/b/messages").kind == RouteMatch::Kind::kNotFound);
  CHECK(r.match("GET", "/api/chatsx").kind == RouteMatch::Kind::kNotFound);
  CHECK(r.match("GET", "/api").kind == RouteMatch::Kind::kNotFound);
  CHECK(r.match("GET", "/api/chats/x/messages/extra").kind == RouteMatch::Kind::kNotFound);
}

TEST_CASE("router: wrong method is 405 with the allowed methods", "[chatd][http]") {
  Router r;
  std::string hit;
  r.get("/items/{id}", tagged("get", &hit));
  r.del("/items/{id}", tagged("delete", &hit));
  r.post("/items", tagged("post", &hit));
  auto m = r.match("PUT", "/items/1");
  CHECK(m.kind == RouteMatch::Kind::kMethodNotAllowed);
  CHECK(m.allow == "DELETE, GET, HEAD, OPTIONS");
  CHECK(r.match("GET", "/items").allow == "OPTIONS, POST");
  CHECK(r.match("OPTIONS", "/items/").kind == RouteMatch::Kind::kMethodNotAllowed);
  CHECK(r.match("HEAD", "/items/7").kind == RouteMatch::Kind::kFound);  // HEAD is GET
}

TEST_CASE("router: the most specific pattern wins, per method", "[chatd][http]") {
  Router r;
  std::string hit;
  r.get("/chat/conversations/{id}", tagged("by-id", &hit));
  r.get("/chat/conversations/search", tagged("search", &hit));
  r.del("/chat/conversations/{id}", tagged("delete", &hit));
  r.get("/chat/{a}/x", tagged("param-first", &hit));
  r.get("/chat/conversations/{b}/x", tagged("literal-first", &hit));

  auto call = [&](std::string_view method, std::string_view path) {
    auto m = r.match(method, path);
    REQUIRE(m.kind == RouteMatch::Kind::kFound);
    httplib::Response res;
    (*m.handler)(httplib::Request{}, res, m.params, chatd::RequestScope{});
    return hit;
  };
  CHECK(call("GET", "/chat/conversations/search") == "search");
  CHECK(call("GET", "/chat/conversations/12") == "by-id");
  // No DELETE on the literal pattern: the parameter pattern that has DELETE answers.
  CHECK(call("DELETE", "/chat/conversations/search") == "delete");
  CHECK(call("GET", "/chat/conversations/1/x") == "literal-first");
  CHECK(call("GET", "/chat/other/x") == "param-first");
  CHECK(run(r, "PATCH", "/chat/conversations/search") == "405 DELETE, GET, HEAD, OPTIONS");
}

TEST_CASE("router: registration mistakes throw at startup", "[chatd][http]") {
  Router r;
  auto h = [](const httplib::Request&, httplib::Response&, const chatd::PathParams&, const chatd::RequestScope&) {};
  r.get("/a/{id}/", h);
  CHECK_THROWS_AS(r.get("/a/{id}", h), std::logic_error);   // same pattern, slash aside
  CHECK_THROWS_AS(r.get("/a/{other}", h), std::logic_error);  // same shape, other name
  CHECK_NOTHROW(r.post("/a/{id}", h));
  CHECK_THROWS_AS(r.get("no-slash", h), std::logic_error);
  CHECK_THROWS_AS(r.get("/a/{}/", h), std::logic_error);
  CHECK_THROWS_AS(r.get("/a//b", h), std::logic_error);
  CHECK_THROWS_AS(r.add("TRACE", "/t", h), std::logic_error);
  CHECK_THROWS_AS(r.get("/empty", chatd::Handler{}), std::logic_error);
  auto routes = r.routes();
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].method == "GET");
  CHECK(routes[0].pattern == "/a/{id}/");
  CHECK(routes[1].method == "POST");
}
