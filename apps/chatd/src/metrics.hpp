// metrics.hpp: request counters and latencies, rendered as Prometheus text.
//
// GET /metrics answers (text/plain; version=0.0.4):
//   chatd_http_requests_total{method="GET",route="/healthz",status="200"} 12
//   chatd_http_request_duration_seconds_bucket{route="/healthz",le="0.001"} 11
//   ... _sum, _count per route
//   chatd_up 1
// `route` is the matched route pattern ("/api/chats/{session_id}"), never the
// raw path, so label cardinality stays bounded; unmatched requests count under
// route="unmatched". Later issues add gauges (messages stored, open streams)
// through add_gauge(), and labelled families read at render time (refusals by
// rate-limit class and key kind, streams refused by reason) through
// add_family().
//
// Thread-safe: one mutex, held only to bump counters; observe() allocates
// only the first time it sees a (method, route, status) (issue 11: it built
// two strings per request to look its counter up).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace chatd {

class Metrics {
 public:
  void observe(std::string_view method, std::string_view route, int status, double seconds);
  // A gauge read when /metrics is rendered (e.g. open streams). Register before the server starts.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  // One sample of a family: `labels` already in exposition form
  // (class="write",key="address"; values escaped by the caller).
  struct Sample {
    std::string labels;
    double value = 0;
  };
  // A labelled family read when /metrics is rendered; `type` is "counter" or
  // "gauge". Register before the server starts.
  void add_family(std::string name, std::string help, std::string type, std::function<std::vector<Sample>()> read);
  std::string render() const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                       0.025,  0.05,  0.1,    0.5,   2.5};
  struct Latency {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  // (method, route, status), ordered as the tuple was (the rendered order),
  // found by views without building strings.
  struct RequestKey {
    std::string method;
    std::string route;
    int status = 0;
  };
  struct RequestKeyView {
    std::string_view method;
    std::string_view route;
    int status = 0;
  };
  struct RequestKeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return std::tie(a.method, a.route, a.status) < std::tie(b.method, b.route, b.status);
    }
  };
  mutable std::mutex mu_;
  std::map<RequestKey, std::uint64_t, RequestKeyLess> requests_;
  std::map<std::string, Latency, std::less<>> latency_;
  std::vector<Gauge> gauges_;
  struct Family {
    std::string name;
    std::string help;
    std::string type;
    std::function<std::vector<Sample>()> read;
  };
  std::vector<Family> families_;
};

}  // namespace chatd
