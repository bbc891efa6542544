#include "cors.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace chatd {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

chat::Error bad_origin(std::string_view item, std::string_view why) {
  std::string m = "'";
  m += item;
  m += "' ";
  m += why;
  return chat::Error::invalid("cors-origins", std::move(m));
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' || c == ']' ||
         c == ':';
}

// "https://Landing.Example:8443" -> "https://landing.example:8443"; errors name the item.
chat::Result<std::string> normalize_origin(std::string_view item) {
  std::string o(item);
  const auto sep = o.find("://");
  if (sep == std::string::npos) return bad_origin(item, "is not an origin (scheme://host[:port])");
  // Browsers send scheme and host lower-cased: compare in that form.
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string scheme = o.substr(0, sep);
  if (scheme != "http" && scheme != "https") return bad_origin(item, "is not an http:// or https:// origin");
  std::string_view host = std::string_view(o).substr(sep + 3);
  if (host.empty()) return bad_origin(item, "has no host");
  if (host.find_first_of("/?#") != std::string_view::npos) {
    return bad_origin(item, "has a path, query or trailing slash (an origin is scheme://host[:port])");
  }
  if (host.find('@') != std::string_view::npos) return bad_origin(item, "has user info");
  if (!std::all_of(host.begin(), host.end(), host_char)) return bad_origin(item, "has a character no host has");
  // The port: after the last ':' outside an IPv6 literal's brackets.
  const auto close = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      return bad_origin(item, "has a bad port");
    }
    if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) {
      return bad_origin(item, "names its default port, which browsers leave out of Origin: drop it");
    }
    if (colon == 0) return bad_origin(item, "has no host");
  }
  return o;
}

void add_vary_origin(httplib::Response& res) {
  auto it = res.headers.find("Vary");
  if (it == res.headers.end()) {
    res.set_header("Vary", "Origin");
  } else if (it->second.find("Origin") == std::string::npos) {
    it->second += ", Origin";
  }
}

bool starts_with_ci(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != lower_prefix[i]) return false;
  }
  return true;
}

void remove_cors_headers(httplib::Response& res) {
  for (auto it = res.headers.begin(); it != res.headers.end();) {
    if (starts_with_ci(it->first, "access-control-")) {
      it = res.headers.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

chat::Result<std::vector<std::string>> parse_cors_origins(std::string_view list) {
  std::vector<std::string> out;
  if (trim(list).empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = list.find(',', start);
    const std::string_view item = trim(list.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (item.empty()) return bad_origin(item, "is empty (a stray comma?)");
    std::string origin;
    if (item == "*") {
      origin = "*";
    } else if (item == "null") {
      // Sandboxed frames and file: pages all send "null": granting it grants them all.
      return bad_origin(item, "is refused: every sandboxed or file: page sends it");
    } else {
      auto o = normalize_origin(item);
      if (!o) return std::move(o).error();
      origin = std::move(*o);
    }
    if (std::find(out.begin(), out.end(), origin) != out.end()) return bad_origin(item, "is listed twice");
    out.push_back(std::move(origin));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& o : origins) {
    if (o == "*") {
      any_ = true;
    } else {
      exact_.push_back(std::move(o));
    }
  }
}

CorsPolicy::Grant CorsPolicy::grant(std::string_view origin, std::optional<Access> access) const {
  if (origin.empty()) return Grant::kNone;
  if (std::find(exact_.begin(), exact_.end(), origin) != exact_.end()) return Grant::kExact;
  if (any_ && access && is_anonymous(*access)) return Grant::kAny;
  return Grant::kNone;
}

bool CorsPolicy::is_preflight(const httplib::Request& req) {
  return req.method == "OPTIONS" && req.has_header("Origin") && req.has_header("Access-Control-Request-Method");
}

void CorsPolicy::preflight(const httplib::Request& req, httplib::Response& res,
                           const std::vector<std::pair<std::string, std::optional<Access>>>& methods) const {
  if (!enabled()) return;
  add_vary_origin(res);
  const std::string origin = req.get_header_value("Origin");
  // The widest grant over the path's methods, and the methods it covers.
  Grant best = Grant::kNone;
  std::set<std::string> open;
  for (const auto& [method, access] : methods) {
    const Grant g = grant(origin, access);
    if (g == Grant::kNone) continue;
    if (best == Grant::kNone || g == Grant::kExact) best = g;
    open.insert(method);
    if (method == "GET") open.insert("HEAD");
  }
  if (best == Grant::kNone) return;
  open.insert("OPTIONS");
  std::string list;
  for (const auto& m : open) {
    if (!list.empty()) list += ", ";
    list += m;
  }
  res.set_header("Access-Control-Allow-Origin", best == Grant::kExact ? origin : std::string("*"));
  res.set_header("Access-Control-Allow-Methods", list);
  res.set_header("Access-Control-Allow-Headers",
                 std::string(best == Grant::kExact ? kRequestHeaders : kAnonymousRequestHeaders));
  res.set_header("Access-Control-Max-Age", std::to_string(kMaxAgeSeconds));
}

void CorsPolicy::answer(const httplib::Request& req, httplib::Response& res, std::optional<Access> access) const {
  // Only this policy speaks CORS: whatever a handler may have set is dropped.
  remove_cors_headers(res);
  if (!enabled()) return;
  add_vary_origin(res);
  const std::string origin = req.get_header_value("Origin");
  const Grant g = grant(origin, access);
  if (g == Grant::kNone) return;
  res.set_header("Access-Control-Allow-Origin", g == Grant::kExact ? origin : std::string("*"));
  res.set_header("Access-Control-Expose-Headers", std::string(kExposedHeaders));
}

}  // namespace chatd
