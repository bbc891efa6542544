// request_scope.hpp: what the connection knows about one request that its
// route may need beyond the request itself.
//
// - client_address: who the rate limits and the per-address shares count. The
//   socket's peer, or, when that peer is a configured trusted proxy, the
//   client named by its X-Forwarded-For header (issue 9). Never empty for a
//   request read from a socket ("unknown" when the peer has no address).
// - stop: requested when the answer is no longer wanted: the client went away
//   while its request was being served (a long-poll or a stream whose client
//   hung up, issue 9 "abandoned waits") or the server is stopping. Routes pass
//   it to the service (waits, model calls), which end early when it is
//   requested. A default-constructed token is never requested (tests).
//
// A scope lives for one request, on the connection's thread; routes read it,
// never keep it past their handler (a stream provider copies what it needs).
#pragma once

#include <stop_token>
#include <string>

namespace chatd {

struct RequestScope {
  std::string client_address = "unknown";
  std::stop_token stop;
};

}  // namespace chatd
