#include "metrics.hpp"

#include <cstdio>

namespace chatd {

namespace {

// Label values are route patterns and method names; escape anyway.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::observe(std::string_view method, std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  const RequestKeyView key{method, route, status};
  auto counter = requests_.find(key);
  if (counter == requests_.end()) {
    counter = requests_.emplace(RequestKey{std::string(method), std::string(route), status}, 0).first;
  }
  ++counter->second;
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(std::string(route), Latency{}).first;
  auto& l = it->second;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++l.buckets[i];
  }
  ++l.count;
  l.sum += seconds;
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(read)});
}

void Metrics::add_family(std::string name, std::string help, std::string type,
                         std::function<std::vector<Sample>()> read) {
  std::lock_guard lock(mu_);
  families_.push_back(Family{std::move(name), std::move(help), std::move(type), std::move(read)});
}

std::string Metrics::render() const {
  std::string out;
  std::vector<Gauge> gauges;
  std::vector<Family> families;
  {
    std::lock_guard lock(mu_);
    out += "# HELP chatd_http_requests_total HTTP requests answered, by method, route pattern and status.\n";
    out += "# TYPE chatd_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
      const auto& [method, route, status] = key;
      out += "chatd_http_requests_total{method=\"" + label(method) + "\",route=\"" + label(route) + "\",status=\"" +
             std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP chatd_http_request_duration_seconds Time from routing to the response written, by route pattern.\n";
    out += "# TYPE chatd_http_request_duration_seconds histogram\n";
    for (const auto& [route, l] : latency_) {
      const std::string r = label(route);
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out += "chatd_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" + number(kBuckets[i]) + "\"} " +
               std::to_string(l.buckets[i]) + "\n";
      }
      out += "chatd_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " + std::to_string(l.count) +
             "\n";
      out += "chatd_http_request_duration_seconds_sum{route=\"" + r + "\"} " + number(l.sum) + "\n";
      out += "chatd_http_request_duration_seconds_count{route=\"" + r + "\"} " + std::to_string(l.count) + "\n";
    }
    gauges = gauges_;
    families = families_;
  }
  for (const auto& g : gauges) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    out += g.name + " " + number(g.read ? g.read() : 0) + "\n";
  }
  for (const auto& f : families) {
    out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    if (!f.read) continue;
    for (const auto& sample : f.read()) out += f.name + "{" + sample.labels + "} " + number(sample.value) + "\n";
  }
  out += "# HELP chatd_up 1 while the daemon serves.\n# TYPE chatd_up gauge\nchatd_up 1\n";
  return out;
}

}  // namespace chatd
