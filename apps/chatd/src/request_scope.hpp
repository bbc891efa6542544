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
// - rate_classes: set by the dispatcher for a state-changing route (the
//   route's classes, rate_limit_policy.hpp), whether rate limits are on or
//   not: the endpoint adapter charges the authenticated principal for them,
//   and a model-class route takes a model-call slot (RouteContext::model_calls).
//   0: a read.
// - rate_limiter: set with rate_classes when rate limits are on
//   (rate_limiter.hpp); null: nothing to charge.
// - retry_after: a refusal inside the service call (admit_creation) leaves
//   its Retry-After here for the adapter to send; 0: none. A route writes it
//   (mutable): a scope is one request's, on one thread.
// - event_stream: set by an event stream route (event_stream_route.hpp) that
//   answers 200: the connection loop writes only the response head and hands
//   the socket and this stream to the event pump (event_stream_handoff.hpp);
//   null: an ordinary answer. Written by the route (mutable) like retry_after.
//
// A scope lives for one request, on the connection's thread; routes read it,
// never keep it past their handler (a stream provider copies what it needs).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

namespace chatd {

class RateLimiter;
struct EventStreamHandoff;

struct RequestScope {
  std::string client_address = "unknown";
  std::stop_token stop;
  RateLimiter* rate_limiter = nullptr;
  std::uint8_t rate_classes = 0;  // RateClasses (rate_limit_policy.hpp)
  mutable std::chrono::seconds retry_after{0};
  mutable std::shared_ptr<EventStreamHandoff> event_stream;
};

}  // namespace chatd
