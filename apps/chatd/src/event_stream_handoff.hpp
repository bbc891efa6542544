// event_stream_handoff.hpp: what an event stream route hands to the
// connection loop, and the connection loop (through the reactor) to the event
// pump (event_pump.hpp), so that an open stream holds no worker thread
// (issue 14: 10,000 listeners on 2 cores).
//
// The route (event_stream_route.hpp) authenticates, takes an event stream
// slot, opens the stream with the listener EventPump::listener(id) made, and
// leaves this in RequestScope::event_stream with a 200 answer whose headers
// (CORS) the head must carry. The connection loop writes only the head
// (write_stream_head, http_response_writer.hpp) and returns After::kHandOff;
// the reactor forgets the socket without closing it and calls
// EventPump::adopt. Whoever destroys a handoff that was never adopted ends the
// stream (its slot returns, the EventStream unsubscribes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chat/events.hpp"
#include "chat/service.hpp"
#include "stream_slots.hpp"

namespace chatd {

// The JSON text of an event's `data` line in the API's own shape (one line:
// no newline), or nullopt to skip the event (a type the API has no shape for).
using EventRenderer = std::function<std::optional<std::string>(const chat::Event&)>;

struct EventStreamHandoff {
  std::uint64_t id = 0;  // EventPump::next_id(): the listener enqueues this id
  // Declared before `stream`: the stream (and with it the listener) goes first.
  std::optional<StreamSlots::Slot> slot;
  EventRenderer render;
  std::unique_ptr<chat::EventStream> stream;
  // Set by the connection loop: HTTP/1.1 frames the body in chunks; HTTP/1.0
  // reads it until the connection closes.
  bool chunked = true;
};

}  // namespace chatd
