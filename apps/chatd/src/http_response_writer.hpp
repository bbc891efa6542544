// http_response_writer.hpp: writes an httplib::Response on a SocketIo, as
// cpp-httplib 0.11.4 would have written it for chatd's routes.
//
// - status line `HTTP/1.1 <status> <reason>`; a status never set (-1) is 200;
// - `Connection: close` when the connection ends after this answer, else
//   `Keep-Alive: timeout=<idle s>, max=<keep-alive max>`;
// - `Content-Type: text/plain` when there is a body and no type,
//   `Content-Length` for a plain body (0 when empty) or a sized content
//   provider, `Transfer-Encoding: chunked` for a chunked content provider; a
//   content provider without a length (body until close) closes the connection;
// - headers in the Response's order (httplib's case-insensitive map);
// - HEAD: the headers only (a provider is not run);
// - content providers run on this thread with a DataSink whose write() frames
//   chunks and fails once the peer is gone, and whose is_writable() is false
//   only after a failed write or a reset: a client that half-closed its side
//   still reads (issue 10, item 6). A provider that returns false ends the
//   answer unfinished and the connection.
// Responses are not compressed.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>

#include "socket_io.hpp"

namespace chatd {

struct ResponseOptions {
  bool close = false;                        // the connection ends after this answer
  std::chrono::seconds keep_alive_timeout{5};  // advertised in Keep-Alive
  std::size_t keep_alive_max = 1000;           // advertised in Keep-Alive
  std::chrono::milliseconds write_timeout{10'000};  // longest stall of one send
};

struct WriteOutcome {
  bool ok = false;            // every byte went out (false: the peer is gone or stalled)
  bool must_close = false;    // the framing requires the connection to end (body until close)
};

// The reason phrase of `status` ("Not Found"), "Unknown" for others.
const char* reason_phrase(int status) noexcept;

WriteOutcome write_response(SocketIo& io, const httplib::Request& req, httplib::Response& res,
                            const ResponseOptions& options);

}  // namespace chatd
