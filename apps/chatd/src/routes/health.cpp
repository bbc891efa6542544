// GET /healthz: liveness only. It answers as long as the process serves HTTP
// and touches neither the store nor the provider (nothing to parse, nothing
// to call), so it stays cheap under load.
#include "endpoint.hpp"
#include "routes/routes.hpp"

namespace chatd {

void register_health_routes(Router& router, const RouteContext& /*ctx*/) {
  router.get("/healthz", fixed_json(200, {{"status", "ok"}}));
}

}  // namespace chatd
