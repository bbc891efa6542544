#include "access_log.hpp"

#include <chrono>
#include <cstdio>

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

std::string printable(std::string_view s, std::size_t max_bytes) {
  const bool cut = s.size() > max_bytes;
  if (cut) s = s.substr(0, max_bytes);
  std::string out;
  out.reserve(s.size() + 3);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (cut) out += "...";
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
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.2fms", seconds * 1000.0);
      logger.log(chat::LogLevel::kInfo, "http " + printable(req.method) + " " + printable(req.path) + " " +
                                            std::to_string(res.status) + " " + (timed ? ms : "-"));
    }
  };
}

}  // namespace chatd
