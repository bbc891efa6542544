#include "api_docs.hpp"

#include <httplib.h>

#include <cstddef>

// Defined by the sources cmake/EmbedFile.cmake generates.
extern const char chatd_embedded_openapi_json[];
extern const std::size_t chatd_embedded_openapi_json_size;
extern const char chatd_embedded_api_docs_html[];
extern const std::size_t chatd_embedded_api_docs_html_size;

namespace chatd {

std::string_view openapi_document() noexcept {
  return {chatd_embedded_openapi_json, chatd_embedded_openapi_json_size};
}

std::string_view api_docs_page() noexcept { return {chatd_embedded_api_docs_html, chatd_embedded_api_docs_html_size}; }

void register_api_docs_routes(Router& router) {
  router.get("/api/openapi.json",
             Route{[](const httplib::Request&, httplib::Response& res, const PathParams&, const RequestScope&) {
                     res.status = 200;
                     res.set_header("Cache-Control", "no-cache");
                     res.set_content(openapi_document().data(), openapi_document().size(), "application/json");
                   },
                   Access::kPublic});
  router.get("/api/docs",
             Route{[](const httplib::Request&, httplib::Response& res, const PathParams&, const RequestScope&) {
                     res.status = 200;
                     res.set_header("Cache-Control", "no-cache");
                     // Everything the page needs is inline or from this origin: no CDN, works offline.
                     res.set_header("Content-Security-Policy",
                                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                                    "frame-ancestors 'none'");
                     res.set_header("X-Content-Type-Options", "nosniff");
                     res.set_content(api_docs_page().data(), api_docs_page().size(), "text/html; charset=utf-8");
                   },
                   Access::kPublic});
}

}  // namespace chatd
