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
// - an answer of known length has a total deadline that grows with its size
//   (ResponseOptions::write_deadline_base, write_min_rate): a client that
//   reads slowly loses the answer and the connection, not a worker for hours.
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
  // The total deadline of an answer of known size (a body, or a content
  // provider with a length; issue 9): write_deadline_base + its bytes /
  // write_min_rate, from when writing starts; past it the answer fails and the
  // connection closes. The stall bound alone lets a client that reads a byte
  // every few seconds hold a worker for hours. 30 s + 64 KiB/s: a 4 MiB page
  // has 94 s; a client on any working link reads far faster. Chunked and
  // until-close providers (streams, produced as the model writes) have only
  // the stall bound: their length is unknown. write_min_rate 0: no deadline.
  std::chrono::milliseconds write_deadline_base{30'000};
  std::size_t write_min_rate = 64 * 1024;  // bytes per second
};

// The deadline write_response gives an answer of `bytes` started at `start`
// (ResponseOptions::write_deadline_base and write_min_rate).
Deadline write_deadline(const ResponseOptions& options, std::size_t bytes, Deadline start);

struct WriteOutcome {
  bool ok = false;            // every byte went out (false: the peer is gone or stalled)
  bool must_close = false;    // the framing requires the connection to end (body until close)
};

// The reason phrase of `status` ("Not Found"), "Unknown" for others.
const char* reason_phrase(int status) noexcept;

WriteOutcome write_response(SocketIo& io, const httplib::Request& req, httplib::Response& res,
                            const ResponseOptions& options);

// The head of an event stream handed to the event pump (issue 14,
// event_stream_handoff.hpp): `res`'s status and headers (CORS) with
// Content-Type: text/event-stream, Cache-Control: no-cache,
// X-Accel-Buffering: no, Connection: close, and Transfer-Encoding: chunked
// when `chunked` (HTTP/1.1; an HTTP/1.0 body ends at the close). No body.
bool write_stream_head(SocketIo& io, httplib::Response& res, bool chunked, const ResponseOptions& options);

}  // namespace chatd
