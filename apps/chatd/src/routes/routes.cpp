#include "routes/routes.hpp"

namespace chatd {

void register_all_routes(Router& router, const RouteContext& ctx) {
  register_health_routes(router, ctx);
  register_seed001_routes(router, ctx);
  register_seed000_routes(router, ctx);
  register_jobs_routes(router, ctx);
  // Seeds 002 / 003 and the agents registry.
  register_seed002_routes(router, ctx);
  register_seed003_routes(router, ctx);
  register_agent_routes(router, ctx);
  // Seed APIs land here, one line each: register_seedNNN_routes(router, ctx);
  register_seed004_routes(router, ctx);
}

}  // namespace chatd
