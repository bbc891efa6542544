// routes/routes.hpp: every route file of chatd, and the one function that registers them all.
//
// Adding a seed API: create routes/seedNNN.cpp (picked up by the CMake glob)
// defining `void register_seedNNN_routes(Router&, const RouteContext&)`,
// declare it here, and call it from register_all_routes() in routes/routes.cpp.
// Route files include "router.hpp", "route_context.hpp", "http_json.hpp" and
// "http_errors.hpp"; see route_context.hpp for the shape of a handler.
#pragma once

#include "route_context.hpp"
#include "router.hpp"

namespace chatd {

// GET /healthz: liveness, {"status": "ok"}.
void register_health_routes(Router& router, const RouteContext& ctx);

// Seed 001: /api/chats/ sessions, messages, chat and SSE chat (public).
void register_seed001_routes(Router& router, const RouteContext& ctx);
// Seed 000: /api/jobs/{job_id}/quote-chat/ (bearer token).
void register_seed000_routes(Router& router, const RouteContext& ctx);
// Jobs registry: POST /api/jobs/, GET /api/jobs/{id}/ (bearer token).
void register_jobs_routes(Router& router, const RouteContext& ctx);

// Everything chatd serves (GET /metrics is registered by the Server itself).
void register_all_routes(Router& router, const RouteContext& ctx);

}  // namespace chatd
