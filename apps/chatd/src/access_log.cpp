#include "access_log.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace chatd {

namespace {

using Clock = std::chrono::steady_clock;

struct RequestState {
  Clock::time_point start{};
  const std::string* route = nullptr;
  bool active = false;
};
thread_local RequestState t_request;

}  // namespace

void begin_request() { t_request = RequestState{Clock::now(), nullptr, true}; }

void note_route(const std::string* pattern) { t_request.route = pattern; }

void append_printable(std::string& out, std::string_view s, std::size_t max_bytes) {
  const bool cut = s.size() > max_bytes;
  if (cut) s = s.substr(0, max_bytes);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (cut) out += "...";
}

std::string printable(std::string_view s, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 3);
  append_printable(out, s, max_bytes);
  return out;
}

httplib::Logger access_logger(Metrics& metrics, chat::Logger& logger, bool log_lines) {
  return [&metrics, &logger, log_lines](const httplib::Request& req, const httplib::Response& res) {
    const bool timed = t_request.active;
    const double seconds = timed ? std::chrono::duration<double>(Clock::now() - t_request.start).count() : 0.0;
    static const std::string kUnmatched = "unmatched";
    const std::string& route = t_request.route != nullptr ? *t_request.route : kUnmatched;
    t_request = RequestState{};
    metrics.observe(req.method, route, res.status, seconds);
    if (log_lines && logger.enabled(chat::LogLevel::kInfo)) {
      // Built in one buffer; to_chars, not snprintf: the float formatting was
      // half of this line's cost (issue 11). Same text as "%.2fms".
      std::string line;
      line.reserve(32 + req.method.size() + std::min<std::size_t>(req.path.size(), 259));
      line += "http ";
      append_printable(line, req.method);
      line += ' ';
      append_printable(line, req.path);
      line += ' ';
      char num[32];
      line.append(num, std::to_chars(num, num + sizeof num, res.status).ptr);
      line += ' ';
      if (timed) {
        line.append(num, std::to_chars(num, num + sizeof num, seconds * 1000.0, std::chars_format::fixed, 2).ptr);
        line += "ms";
      } else {
        line += '-';
      }
      logger.log(chat::LogLevel::kInfo, line);
    }
  };
}

}  // namespace chatd
