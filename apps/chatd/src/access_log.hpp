// access_log.hpp: one log line and one metrics observation per request.
//
// The connection loop (http_connection.hpp) runs, on one worker thread and in
// order, the start of the request's reading, the route and the answer; the
// request's start time and matched route pattern travel between them in a
// thread-local record:
//   begin_request()        when a worker starts reading the request (starts the
//                          clock; the head was buffered by the reactor before,
//                          so a slow client's head time is not counted)
//   note_route(&pattern)   when routing matched a pattern (metrics label)
//   access_logger(...)     after the answer is written: "http GET /api/chats/ 200 0.41ms"
//                          at info level (path without the query string,
//                          control characters replaced), and Metrics::observe
//                          by route pattern ("unmatched" when none, as for a
//                          request refused before routing).
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

#include "chat/logger.hpp"
#include "metrics.hpp"

namespace chatd {

void begin_request();
void note_route(const std::string* pattern);
// log_lines false (--no-access-log): metrics only.
httplib::Logger access_logger(Metrics& metrics, chat::Logger& logger, bool log_lines = true);

// Client text made safe for one log line or error message: control characters
// become '?', and text past `max_bytes` is cut and marked "..." (a path may be
// 8 KiB; echoing it whole doubles what a 404 or a log line costs).
std::string printable(std::string_view s, std::size_t max_bytes = 256);
// The same, appended to `out`.
void append_printable(std::string& out, std::string_view s, std::size_t max_bytes = 256);

}  // namespace chatd
