// GET /healthz: liveness only. It answers as long as the process serves HTTP
// and touches neither the store nor the provider, so it stays cheap under load.
#include <httplib.h>

#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

void register_health_routes(Router& router, const RouteContext& /*ctx*/) {
  router.get("/healthz", [](const httplib::Request&, httplib::Response& res, const PathParams&) {
    static const std::string kBody = R"({"status":"ok"})";
    render_json_text(res, 200, kBody);
  });
}

}  // namespace chatd
