#include "routes/routes.hpp"

namespace chatd {

void register_all_routes(Router& router, const RouteContext& ctx) {
  register_health_routes(router, ctx);
  // Seed APIs land here, one line each: register_seedNNN_routes(router, ctx);
  register_seed004_routes(router, ctx);
}

}  // namespace chatd
