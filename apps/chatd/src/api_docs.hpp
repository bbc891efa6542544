// api_docs.hpp: the API's own description, served by chatd (issue 12).
//
//   GET /api/openapi.json  the OpenAPI 3.1 document of every route
//                          (docs/openapi.json of the repository)
//   GET /api/docs          a reference page rendered in the browser from that
//                          document (apps/chatd/web/api_docs.html): plain
//                          HTML + JS, nothing loaded from elsewhere, so it
//                          works offline; its Content-Security-Policy allows
//                          no other origin.
// Both files are compiled in at build time (cmake/EmbedFile.cmake): nothing is
// read from disk at run time. Both routes are public (Access::kPublic).
// The document is kept true by tests: tests/chatd/openapi_test.cpp (every
// route of the router documented with its Access, nothing else documented),
// tests/web/ (a real OpenAPI 3.1 validator; real responses validated against
// the document's schemas; the page in headless Chromium).
#pragma once

#include <string_view>

#include "router.hpp"

namespace chatd {

// The embedded files, as they were at build time.
std::string_view openapi_document() noexcept;
std::string_view api_docs_page() noexcept;

// Registers GET /api/openapi.json and GET /api/docs.
void register_api_docs_routes(Router& router);

}  // namespace chatd
