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

// Seed 004: /api/chat/ (resume-coach sessions) and the profile registry /api/profile/.
void register_seed004_routes(Router& router, const RouteContext& ctx);

// Everything chatd serves (GET /metrics is registered by the Server itself).
void register_all_routes(Router& router, const RouteContext& ctx);

}  // namespace chatd
