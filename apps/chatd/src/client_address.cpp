#include "client_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace chatd {

namespace {

constexpr IpBytes kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

bool is_mapped_v4(const IpBytes& ip) noexcept { return std::equal(ip.begin(), ip.begin() + 12, kMappedPrefix.begin()); }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool prefix_equal(const IpBytes& a, const IpBytes& b, int bits) noexcept {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (a[static_cast<std::size_t>(i)] != b[static_cast<std::size_t>(i)]) return false;
  }
  if (bits == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
  return (a[static_cast<std::size_t>(i)] & mask) == (b[static_cast<std::size_t>(i)] & mask);
}

}  // namespace

std::optional<IpBytes> parse_ip(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN + 1] = {};
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  IpBytes ip{};
  in_addr v4{};
  if (::inet_pton(AF_INET, buf, &v4) == 1) {
    ip = kMappedPrefix;
    std::memcpy(ip.data() + 12, &v4, 4);
    return ip;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(ip.data(), &v6, 16);
    return ip;
  }
  return std::nullopt;
}

std::string ip_text(const IpBytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_mapped_v4(ip)) {
    ::inet_ntop(AF_INET, ip.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  }
  return buf;
}

std::string socket_address_text(const sockaddr_storage& a, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  int p = -1;
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    p = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    p = ntohs(in6->sin6_port);
  }
  if (port != nullptr) *port = p;
  return buf;
}

std::string canonical_address(std::string_view text) {
  auto ip = parse_ip(text);
  return ip ? ip_text(*ip) : std::string(text);
}

chat::Result<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  std::string_view rest = list;
  while (!trim(rest).empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto invalid = [&](const char* why) {
      return chat::Error::invalid("--trusted-proxies", "--trusted-proxies: '" + std::string(item) + "' " + why);
    };
    if (item.empty()) return invalid("is empty (a stray comma?)");
    const auto slash = item.find('/');
    auto ip = parse_ip(item.substr(0, slash));
    if (!ip) return invalid("is not an IPv4 or IPv6 address or CIDR block");
    const bool v4 = is_mapped_v4(*ip) && item.substr(0, slash).find(':') == std::string_view::npos;
    const int width = v4 ? 32 : 128;
    int bits = width;
    if (slash != std::string_view::npos) {
      const std::string_view p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return invalid("has a bad prefix length");
      bits = std::stoi(std::string(p));
      if (bits > width) return invalid(v4 ? "has a prefix longer than 32" : "has a prefix longer than 128");
    }
    out.blocks_.push_back(Block{*ip, v4 ? bits + 96 : bits});
  }
  return out;
}

bool TrustedProxies::contains(const IpBytes& ip) const noexcept {
  return std::any_of(blocks_.begin(), blocks_.end(), [&](const Block& b) { return prefix_equal(ip, b.net, b.prefix); });
}

bool TrustedProxies::contains(std::string_view address) const noexcept {
  auto ip = parse_ip(address);
  return ip && contains(*ip);
}

namespace {

const std::string kUnknownClient = "unknown";

// An X-Forwarded-For element: a bare address, or with a port as some
// proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711", "[2001:db8::1]").
std::optional<IpBytes> parse_forwarded_ip(std::string_view e) {
  if (auto ip = parse_ip(e)) return ip;
  if (!e.empty() && e.front() == '[') {
    const auto close = e.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = e.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    return parse_ip(e.substr(1, close - 1));
  }
  const auto colon = e.find(':');
  if (colon != std::string_view::npos && e.find(':', colon + 1) == std::string_view::npos) {
    auto ip = parse_ip(e.substr(0, colon));
    if (ip && is_mapped_v4(*ip)) return ip;  // IPv4 with a port
  }
  return std::nullopt;
}

}  // namespace

std::string TrustedProxies::client_address(std::string_view peer,
                                           const std::vector<std::string_view>& forwarded_for) const {
  const auto peer_ip = parse_ip(peer);
  if (!peer_ip) return peer.empty() ? std::string("unknown") : std::string(peer);
  if (!contains(*peer_ip) || forwarded_for.empty()) return ip_text(*peer_ip);
  // Every element, left to right across the fields (RFC 9110 §5.3: repeated
  // fields are one comma-separated list).
  std::vector<std::string_view> hops;
  for (std::string_view field : forwarded_for) {
    for (;;) {
      const auto comma = field.find(',');
      // Empty list elements are ignored (RFC 9110 §5.6.1).
      if (auto e = trim(field.substr(0, comma)); !e.empty()) hops.push_back(e);
      if (comma == std::string_view::npos) break;
      field.remove_prefix(comma + 1);
    }
  }
  // Right to left: only what a trusted hop appended is read, so a client's
  // own garbage further left never matters. An element that is reached and
  // is not an address was written by a trusted proxy that could not name
  // its client: that client is unknown, never the proxy itself (which may be
  // loopback, and would share every client's rate limit).
  std::optional<IpBytes> leftmost;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto ip = parse_forwarded_ip(*it);
    if (!ip) return kUnknownClient;
    if (!contains(*ip)) return ip_text(*ip);
    leftmost = ip;
  }
  return leftmost ? ip_text(*leftmost) : ip_text(*peer_ip);
}

std::string connection_cap_key(std::string_view address) {
  auto ip = parse_ip(address);
  if (!ip) return std::string(address);
  if (is_mapped_v4(*ip)) return ip_text(*ip);
  std::fill(ip->begin() + 8, ip->end(), std::uint8_t{0});
  return ip_text(*ip) + "/64";
}

}  // namespace chatd
