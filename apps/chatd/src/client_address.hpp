// client_address.hpp: who a request comes from, for rate limits, per-address
// shares and the per-address connection cap (issue 9).
//
// - The socket's peer is the client, unless that peer is a configured trusted
//   proxy (--trusted-proxies, a list of CIDR blocks, IPv4 and IPv6). Then the
//   client is the right-most address of X-Forwarded-For that is not itself a
//   trusted proxy (the standard right-to-left walk, as nginx's realip module
//   with real_ip_recursive: each trusted hop vouches only for the address it
//   appended, so an address a client wrote itself, further left, is never
//   believed). When every listed address is trusted, the left-most one is the
//   client. Elements may carry a port ("192.0.2.1:4711", "[2001:db8::1]:80").
//   An absent header means the proxy itself is the client. When the walk
//   reaches an element that is not an address ("unknown", a name, garbage)
//   the client is "unknown": a trusted proxy wrote it, and the proxy's own
//   address (often loopback) must never stand in for its clients (/metrics
//   is open to loopback; the rate limits would be shared). Garbage further
//   left than the first untrusted address is never read.
// - Addresses are compared and reported in one canonical text form
//   (inet_ntop): an IPv4-mapped IPv6 peer (::ffff:192.0.2.1, what a
//   dual-stack socket reports) is reported and matched as 192.0.2.1.
//
// Immutable after parse: safe to share between threads. Never throws (bad_alloc aside).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"

struct sockaddr_storage;

namespace chatd {

// An IP address as 16 bytes (IPv4 as ::ffff:a.b.c.d).
using IpBytes = std::array<std::uint8_t, 16>;

// Parses a bare IPv4 or IPv6 address ("192.0.2.1", "2001:db8::1"); nullopt otherwise.
std::optional<IpBytes> parse_ip(std::string_view text) noexcept;
// The canonical text of `ip` (IPv4-mapped addresses as dotted IPv4).
std::string ip_text(const IpBytes& ip);
// The IP of a socket address as inet_ntop writes it ("" for a family other
// than IPv4/IPv6), and its port into `*port` when given (-1 then).
std::string socket_address_text(const sockaddr_storage& address, int* port = nullptr);
// The canonical text of `text` when it is an address; `text` itself otherwise.
std::string canonical_address(std::string_view text);

class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts no one

  // "127.0.0.1/32,::1/128,10.0.0.0/8": comma-separated CIDR blocks (spaces
  // allowed around items; a bare address is a /32 or /128). Host bits past
  // the prefix are ignored. kInvalidArgument naming the bad item otherwise.
  static chat::Result<TrustedProxies> parse(std::string_view list);

  bool empty() const noexcept { return blocks_.empty(); }
  bool contains(const IpBytes& ip) const noexcept;
  bool contains(std::string_view address) const noexcept;

  // The client address for a request whose socket peer is `peer` and whose
  // X-Forwarded-For values (every field, in order) are `forwarded_for`.
  std::string client_address(std::string_view peer, const std::vector<std::string_view>& forwarded_for) const;

 private:
  struct Block {
    IpBytes net{};
    int prefix = 0;  // bits, over the 16-byte form
  };
  std::vector<Block> blocks_;
};

// The key the per-address connection cap counts by: the IPv4 address, or the
// /64 prefix of an IPv6 address (one subscriber line gets a whole /64, so a
// per-/128 count would let one host open connections without bound).
std::string connection_cap_key(std::string_view address);

}  // namespace chatd
