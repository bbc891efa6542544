// access.hpp: who may call a route, as the route table declares it.
//
// endpoint() (endpoint.hpp) authenticates by it (the rules are
// route_context.hpp's); the Router keeps it per route so that the CORS policy
// (cors.hpp) and the OpenAPI check (tests/chatd/openapi_test.cpp) read the
// same declaration the handler enforces. Plain values, no locking needed.
#pragma once

namespace chatd {

// kPublic: nothing is checked. kOptional: anonymous, or a valid bearer token.
// kUser / kAgent / kAdmin: a bearer token with at least that role.
enum class Access { kPublic, kOptional, kUser, kAgent, kAdmin };

// An "anonymous API" route: callable without any credential (kPublic,
// kOptional). Only these may be opened to every origin (`--cors-origins *`).
constexpr bool is_anonymous(Access a) noexcept { return a == Access::kPublic || a == Access::kOptional; }

}  // namespace chatd
