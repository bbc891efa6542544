// routes/routes.hpp: every route file of chatd, and the one function that registers them all.
//
// Adding a seed API: routes/seedNNN_requests.{hpp,cpp} (one request struct and
// one pure parse_X(req, params) -> chat::Result<XRequest> per route) and
// routes/seedNNN.cpp (per route one call function and one render function,
// and register_seedNNN_routes(Router&, const RouteContext&) wiring them with
// endpoint(), endpoint.hpp). List the new .cpp files in
// apps/chatd/CMakeLists.txt (sources are listed, not globbed), declare the
// register function here and call it from register_all_routes() in
// routes/routes.cpp. Shared pieces: routes/shapes.hpp (pages, ids, nullable
// values, envelopes), error_style.hpp (the API's field renames).
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
// ---- seeds 002 / 003 (support desk) and the agents registry
// Seed 002: POST /api/messages/, GET /api/messages/{uuid}/, GET /api/conversation/ (docs/seed-002.md).
void register_seed002_routes(Router& router, const RouteContext& ctx);
// Seed 003: the 11 /chat/ endpoints plus /read and /sessions (docs/seed-003.md).
void register_seed003_routes(Router& router, const RouteContext& ctx);
// POST /api/agents/ (admin), GET /api/agents/, GET /api/agents/{id}/.
void register_agent_routes(Router& router, const RouteContext& ctx);
// Seed 004: /api/chat/ (resume-coach sessions) and the profile registry /api/profile/.
void register_seed004_routes(Router& router, const RouteContext& ctx);

// Everything chatd serves (GET /metrics is registered by the Server itself).
void register_all_routes(Router& router, const RouteContext& ctx);

}  // namespace chatd
