// http_dispatch.hpp: how every request reaches chatd's Router through cpp-httplib 0.11.4.
//
// - one catch-all per method hands the request to the Router: an unknown path
//   answers 404 and a known path with a wrong method 405 with an Allow header,
//   both as JSON; OPTIONS answers 204 with Allow; CONNECT, TRACE and the like
//   405 (or 404) instead of httplib's bare 400;
// - request bodies (POST, PUT, PATCH, DELETE) are read here, not by httplib,
//   up to max_body_bytes: a larger Content-Length or a chunked body that grows
//   past it answers 413 JSON (the excess is read and discarded, up to 16 MiB
//   past the limit, so the client sees the answer; beyond that the connection
//   is closed); a malformed chunked body 400; a Transfer-Encoding other than
//   chunked 501; a body method with neither Content-Length nor
//   Transfer-Encoding has an empty body;
// - every error httplib produces itself (400 bad request line, 414, ...) is
//   rewritten as the JSON error body of http_errors.hpp; an exception escaping
//   a handler (a bug) is logged and answers 500 JSON.
// The access log and metrics hooks are access_log.hpp's.
#pragma once

#include <httplib.h>

#include <cstddef>

#include "chat/logger.hpp"
#include "router.hpp"

namespace chatd {

// Installs the handlers above on `http`. `router` and `logger` must outlive it.
void install_dispatch(httplib::Server& http, const Router& router, std::size_t max_body_bytes, chat::Logger& logger);

}  // namespace chatd
