// Client addresses behind trusted proxies (client_address.hpp, issue 9).
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "client_address.hpp"
#include "config.hpp"

using chatd::TrustedProxies;

namespace {

TrustedProxies proxies(std::string_view list) {
  auto p = TrustedProxies::parse(list);
  REQUIRE(p.ok());
  return std::move(*p);
}

}  // namespace

TEST_CASE("client address: CIDR lists parse, bad items are named", "[chatd][client_address]") {
  CHECK(proxies("").empty());
  CHECK_FALSE(proxies("127.0.0.1/32, ::1/128").empty());
  for (const char* bad : {"10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "nonsense", "10.0.0.0/8,,",
                          "1.2.3.4:80", "10.0.0/8", "[::1]"}) {
    auto p = TrustedProxies::parse(bad);
    CHECK_FALSE(p.ok());
    if (!p.ok()) CHECK(p.error().field == "--trusted-proxies");
  }
  auto p = TrustedProxies::parse("10.0.0.0/8,bogus/3");
  REQUIRE_FALSE(p.ok());
  CHECK_THAT(p.error().message, Catch::Contains("bogus/3"));
}

TEST_CASE("client address: CIDR matching, IPv4, IPv6 and IPv4-mapped", "[chatd][client_address]") {
  const auto t = proxies("10.0.0.0/8,192.168.1.7,2001:db8::/32");
  CHECK(t.contains("10.1.2.3"));
  CHECK(t.contains("10.255.255.255"));
  CHECK_FALSE(t.contains("11.0.0.1"));
  CHECK(t.contains("192.168.1.7"));
  CHECK_FALSE(t.contains("192.168.1.8"));
  CHECK(t.contains("2001:db8:1::5"));
  CHECK_FALSE(t.contains("2001:db9::1"));
  CHECK(t.contains("::ffff:10.9.9.9"));  // what a dual-stack socket reports
  CHECK_FALSE(t.contains("not an address"));
  // Host bits past the prefix are ignored; /0 trusts everyone of a family.
  CHECK(proxies("10.1.2.3/8").contains("10.200.0.1"));
  CHECK(proxies("0.0.0.0/0").contains("8.8.8.8"));
  CHECK_FALSE(proxies("0.0.0.0/0").contains("2001:db8::1"));
  CHECK(proxies("::/0").contains("2001:db8::1"));
}

TEST_CASE("client address: the right-most untrusted X-Forwarded-For hop", "[chatd][client_address]") {
  const auto t = proxies("127.0.0.1/32,::1/128,10.0.0.0/8");
  using V = std::vector<std::string_view>;
  // Not from a trusted proxy: the header is ignored.
  CHECK(t.client_address("198.51.100.9", V{"203.0.113.7"}) == "198.51.100.9");
  // From a trusted proxy: the right-most address that is not a proxy.
  CHECK(t.client_address("127.0.0.1", V{"203.0.113.7"}) == "203.0.113.7");
  CHECK(t.client_address("127.0.0.1", V{"6.6.6.6, 203.0.113.7, 10.0.0.2"}) == "203.0.113.7");
  // Repeated fields are one list, in order.
  CHECK(t.client_address("::1", V{"6.6.6.6", "203.0.113.7 ,10.0.0.2"}) == "203.0.113.7");
  // Every hop trusted: the left-most.
  CHECK(t.client_address("127.0.0.1", V{"10.0.0.3, 10.0.0.2"}) == "10.0.0.3");
  // No header or an empty one: the proxy itself is the client.
  CHECK(t.client_address("127.0.0.1", V{}) == "127.0.0.1");
  CHECK(t.client_address("127.0.0.1", V{""}) == "127.0.0.1");
  // Empty elements are ignored; ports are dropped.
  CHECK(t.client_address("127.0.0.1", V{"203.0.113.7,,10.0.0.2"}) == "203.0.113.7");
  CHECK(t.client_address("127.0.0.1", V{"203.0.113.7:4711"}) == "203.0.113.7");
  CHECK(t.client_address("127.0.0.1", V{"[2001:db8::1]:80"}) == "2001:db8::1");
  CHECK(t.client_address("127.0.0.1", V{"[2001:db8::1]"}) == "2001:db8::1");
  // What a client wrote left of the first untrusted address is never read
  // (an appending proxy turns a client's "garbage" into "garbage, <client>").
  CHECK(t.client_address("127.0.0.1", V{"garbage, 8.8.8.8"}) == "8.8.8.8");
  CHECK(t.client_address("127.0.0.1", V{"unknown, 8.8.8.8"}) == "8.8.8.8");
  CHECK(t.client_address("127.0.0.1", V{", 8.8.8.8"}) == "8.8.8.8");
  CHECK(t.client_address("127.0.0.1", V{"[2001:db8::1]:80, 8.8.8.8"}) == "8.8.8.8");
  // A trusted hop that could not name its client: unknown, never the proxy
  // (loopback would open /metrics and share every client's rate limit).
  CHECK(t.client_address("127.0.0.1", V{"203.0.113.7, unknown"}) == "unknown");
  CHECK(t.client_address("127.0.0.1", V{"8.8.8.8, garbage, 10.0.0.2"}) == "unknown");
  // Canonical forms: IPv4-mapped peers as IPv4, IPv6 compressed.
  CHECK(t.client_address("::ffff:127.0.0.1", V{"2001:DB8:0:0::7"}) == "2001:db8::7");
  CHECK(proxies("").client_address("::ffff:198.51.100.9", V{"1.1.1.1"}) == "198.51.100.9");
  CHECK(proxies("").client_address("", V{}) == "unknown");
}

TEST_CASE("client address: connection cap keys by IPv4 address or IPv6 /64", "[chatd][client_address]") {
  CHECK(chatd::connection_cap_key("198.51.100.9") == "198.51.100.9");
  CHECK(chatd::connection_cap_key("::ffff:198.51.100.9") == "198.51.100.9");
  CHECK(chatd::connection_cap_key("2001:db8:1:2:aaaa::1") == chatd::connection_cap_key("2001:db8:1:2:bbbb::9"));
  CHECK(chatd::connection_cap_key("2001:db8:1:2::1") != chatd::connection_cap_key("2001:db8:1:3::1"));
}

TEST_CASE("config: connection caps and trusted proxies", "[chatd][config][client_address]") {
  auto d = chatd::parse_command_line({}, {});
  REQUIRE(d.ok());
  CHECK(d->config.max_connections == 0);
  CHECK(d->config.max_connections_per_address == 256);
  CHECK(d->config.trusted_proxies.empty());
  auto inv = chatd::parse_command_line(
      {"--max-connections", "5000", "--max-connections-per-address=32", "--trusted-proxies", "127.0.0.1/32,::1/128"}, {});
  REQUIRE(inv.ok());
  CHECK(inv->config.max_connections == 5000);
  CHECK(inv->config.max_connections_per_address == 32);
  CHECK(inv->config.trusted_proxies == "127.0.0.1/32,::1/128");
  CHECK(chatd::parse_command_line({}, {{"CHATD_TRUSTED_PROXIES", "10.0.0.0/8"}})->config.trusted_proxies == "10.0.0.0/8");
  CHECK(chatd::parse_command_line({}, {{"CHATD_MAX_CONNECTIONS_PER_ADDRESS", "9"}})->config.max_connections_per_address == 9);
  CHECK_FALSE(chatd::parse_command_line({"--max-connections", "0"}, {}).ok());
  CHECK_FALSE(chatd::parse_command_line({"--max-connections-per-address", "-1"}, {}).ok());
  auto bad = chatd::parse_command_line({"--trusted-proxies", "10.0.0.0/99"}, {});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("10.0.0.0/99"));
  // The default total: the file limit less the threads and a margin, at least 64.
  chatd::Config c;
  c.threads = 64;
  CHECK(chatd::effective_max_connections(c, 20'000) == 20'000 - 64 - chatd::kFileMargin);
  CHECK(chatd::effective_max_connections(c, 100) == 64);
  c.max_connections = 7;
  CHECK(chatd::effective_max_connections(c, 20'000) == 7);
  for (const char* flag : {"--max-connections", "--max-connections-per-address", "--trusted-proxies"}) {
    CHECK_THAT(chatd::usage_text(), Catch::Contains(flag));
  }
}
