#include "router.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace chatd {

namespace {

// "/a/b/" -> {"a", "b"}; "/" -> {}. Empty inner segments ("/a//b") are kept
// as empty strings so that they never match a pattern segment.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool valid_method(std::string_view m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

}  // namespace

std::string_view PathParams::get(std::string_view name) const noexcept {
  for (const auto& [k, v] : items_) {
    if (k == name) return v;
  }
  return {};
}

bool PathParams::has(std::string_view name) const noexcept {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& kv) { return kv.first == name; });
}

Router& Router::add(std::string_view method, std::string_view pattern, Handler handler,
                    std::optional<Access> access) {
  if (!valid_method(method)) throw std::logic_error("chatd router: unsupported method " + std::string(method));
  if (pattern.empty() || pattern.front() != '/') {
    throw std::logic_error("chatd router: pattern must start with '/': " + std::string(pattern));
  }
  if (!handler) throw std::logic_error("chatd router: empty handler for " + std::string(pattern));

  std::vector<Segment> segments;
  std::string prefix;  // "/a/b" of "/a/b/{id}/c": the literal segments before the first parameter
  bool in_prefix = true;
  for (auto seg : split_path(pattern)) {
    Segment s;
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      s.param = true;
      s.text = std::string(seg.substr(1, seg.size() - 2));
      if (s.text.empty() || s.text.find_first_of("{}") != std::string::npos) {
        throw std::logic_error("chatd router: bad parameter segment in " + std::string(pattern));
      }
      in_prefix = false;
    } else {
      if (seg.empty() || seg.find_first_of("{}") != std::string_view::npos) {
        throw std::logic_error("chatd router: bad segment in " + std::string(pattern));
      }
      s.text = std::string(seg);
      if (in_prefix) {
        prefix += '/';
        prefix += s.text;
      }
    }
    segments.push_back(std::move(s));
  }

  auto same_shape = [&](const Entry& e) {
    if (e.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (e.segments[i].param != segments[i].param) return false;
      if (!segments[i].param && e.segments[i].text != segments[i].text) return false;
    }
    return true;
  };
  auto it = std::find_if(entries_.begin(), entries_.end(), same_shape);
  if (it == entries_.end()) {
    entries_.push_back(Entry{std::string(pattern), std::move(segments), std::move(prefix), {}});
    it = entries_.end() - 1;
  }
  for (const auto& em : it->methods) {
    if (em.name == method) {
      throw std::logic_error("chatd router: " + std::string(method) + " " + std::string(pattern) +
                             " is registered twice");
    }
  }
  it->methods.push_back(Entry::Method{std::string(method), std::move(handler), access});
  order_.push_back(RouteInfo{std::string(method), std::string(pattern), access});
  return *this;
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch out;
  if (method == "HEAD") method = "GET";
  const auto parts = split_path(path);

  const Entry* best = nullptr;
  const Entry::Method* best_method = nullptr;
  const Entry* any_match = nullptr;
  std::vector<const Entry*> matched;

  // Is `a` more specific than `b`? Leftmost literal-versus-parameter difference decides.
  auto more_specific = [](const Entry& a, const Entry& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
    }
    return false;
  };

  for (const auto& e : entries_) {
    if (e.segments.size() != parts.size()) continue;
    // Cheap pre-filter on the literal prefix ("/api/chats" of "/api/chats/{id}").
    const std::string& lp = e.literal_prefix;
    if (!lp.empty() && (path.compare(0, lp.size(), lp) != 0 || (path.size() > lp.size() && path[lp.size()] != '/'))) {
      continue;
    }
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      if (parts[i].empty()) {
        ok = false;
      } else if (!e.segments[i].param) {
        ok = e.segments[i].text == parts[i];
      }
    }
    if (!ok) continue;
    matched.push_back(&e);
    if (any_match == nullptr || more_specific(e, *any_match)) any_match = &e;
    for (const auto& em : e.methods) {
      if (em.name == method && (best == nullptr || more_specific(e, *best))) {
        best = &e;
        best_method = &em;
      }
    }
  }

  if (any_match == nullptr) return out;  // kNotFound
  if (best == nullptr) {
    std::set<std::string> allowed{"OPTIONS"};
    for (const Entry* e : matched) {
      for (const auto& em : e->methods) allowed.insert(em.name);
    }
    if (allowed.count("GET") != 0) allowed.insert("HEAD");
    for (const auto& m : allowed) {
      if (!out.allow.empty()) out.allow += ", ";
      out.allow += m;
    }
    out.kind = RouteMatch::Kind::kMethodNotAllowed;
    out.pattern = &any_match->pattern;
    return out;
  }
  out.kind = RouteMatch::Kind::kFound;
  out.handler = &best_method->handler;
  out.access = best_method->access;
  out.pattern = &best->pattern;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (best->segments[i].param) out.params.add(best->segments[i].text, std::string(parts[i]));
  }
  return out;
}

std::vector<RouteInfo> Router::routes() const { return order_; }

}  // namespace chatd
