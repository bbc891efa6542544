// event_pump.hpp: one thread that holds every open event stream (SSE,
// issue 14) without a thread per stream, and writes their events.
//
// How a stream gets here: event_stream_handoff.hpp. The pump owns the socket
// from adopt() on (non-blocking, in its own epoll set) and the handoff: the
// chat::EventStream, the route's renderer, the stream slot.
//
// What it writes (text/event-stream, chunked on HTTP/1.1, until close on 1.0):
//   retry: 3000                                   first, once
//   id: <cursor>\nevent: ready\ndata: {"cursor":N} first, so EventSource's
//                                                 lastEventId is set before any event
//   id: <event id>\nevent: <type>\ndata: <json>   each event read (chat/events.hpp names)
//   event: typing\ndata: <json>                   ephemeral events: no id
//   id: <cursor>\nevent: reset\ndata: {"reset":true,"reload":true,...}
//                                                 the cursor fell out of the change log:
//                                                 reload the conversation, then live from the head
//   : heartbeat                                   a comment after `heartbeat` without a write
// A read answering not visible (kNotFound: the conversation was deleted,
// after its conversation.deleted event) or any other error ends the stream
// after what was written: the last chunk, then close. So does stop().
//
// Delivery: the listener's changed() (on the publisher's thread) only
// enqueues the stream's id under a mutex and wakes the pump (an eventfd,
// written once per batch). The pump reads each woken stream with
// EventStream::read(read_batch, read_max_bytes): at most read_batch events,
// and no event after the one whose stored bytes reach read_max_bytes, so a
// batch is bounded by bytes whatever the messages' size. A stream with more to
// read goes to the back of the run queue (round robin per batch: a long
// replay does not starve live streams), and a turn of the loop reads at most
// reads_per_turn batches and stops early once it rendered turn_max_bytes, then
// serves its sockets, the inbox and stop() (so a stop returns promptly
// whatever the streams hold).
//
// Slow clients: the log is read only when the stream's pending bytes (written
// by the pump, not yet taken by the kernel) are all out, so a slow reader of a
// replay costs one batch of memory, never the backlog: it is paused, not
// dropped. A batch is kept whole even when it alone passes max_pending_bytes
// (one huge event); the stream then waits until it drains. So what a stream
// holds is at most max(max_pending_bytes, one rendered batch). A client is
// dropped (counted in dropped_clients) when an ephemeral event or heartbeat
// added to a non-empty buffer would take it past max_pending_bytes, or when
// its pending bytes made no progress for write_stall_timeout. EPOLLRDHUP,
// EPOLLHUP or EPOLLERR close the stream: a client sends nothing on an SSE
// stream but its FIN. Any byte it does send ends the stream (the last chunk,
// then close; counted in closed_for_input): an EventSource never sends after
// its request, and a flooder must not cost the pump's thread.
//
// Thread safety: adopt(), listener(), stop() and the counters are safe from any
// thread; everything else runs on the pump's thread. The pump outlives every
// listener it made (the Server owns it past the reactor and the workers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chat/logger.hpp"
#include "event_stream_handoff.hpp"

namespace chatd {

struct EventPumpOptions {
  std::chrono::milliseconds heartbeat{15'000};
  std::chrono::milliseconds retry{3'000};  // the `retry:` EventSource waits before reconnecting
  std::size_t max_pending_bytes = 1 << 20;
  std::chrono::milliseconds write_stall_timeout{60'000};
  std::int64_t read_batch = 100;
  // Stored bytes one read brings (chat::EventStream::read's max_bytes; at
  // least one event): 64 KiB is ~100 ordinary messages, so read_batch still
  // bounds a replay of chat, while 256 KiB messages come one per read and a
  // paused stream holds one of them, not 25 MB.
  std::size_t read_max_bytes = 64 * 1024;
  // Per turn of the loop, before the sockets, the inbox and stop() are served
  // again: at most this many batches, and none after this many rendered bytes.
  std::size_t reads_per_turn = 64;
  std::size_t turn_max_bytes = 1 << 20;
};

class EventPump {
 public:
  // Starts the thread. Throws std::system_error when epoll or eventfd fail.
  EventPump(EventPumpOptions options, chat::Logger& logger);
  ~EventPump();  // stop(), then join
  EventPump(const EventPump&) = delete;
  EventPump& operator=(const EventPump&) = delete;

  // A fresh stream id, and the listener to open its EventStream with: both
  // only enqueue that id (or the ephemeral event) for the pump's thread.
  std::uint64_t next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  chat::EventListener listener(std::uint64_t id);

  // Takes the connected socket `fd` (its response head already written) and
  // the stream. After stop(): closes both at once.
  void adopt(int fd, std::shared_ptr<EventStreamHandoff> stream);

  // Ends every stream (last chunk, close) and refuses further adoptions;
  // returns once the thread is done. Idempotent.
  void stop();

  std::size_t open_streams() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::uint64_t events_sent() const noexcept { return events_sent_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_clients() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t closed_for_input() const noexcept { return closed_for_input_.load(std::memory_order_relaxed); }
  // Bytes written by the pump and not yet taken by the kernel, all streams
  // together (for tests and a gauge).
  std::size_t pending_bytes() const noexcept { return pending_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Entry;

  void run();
  void take_inbox();
  void on_socket(Entry& e, std::uint32_t events);
  std::size_t read_some(Entry& e);  // rendered bytes
  void account(Entry& e);
  void append(Entry& e, std::string_view frame);
  bool flush(Entry& e);
  void schedule(Entry& e);
  void sweep();
  void end(Entry& e, bool graceful);
  void end_all();
  void wake();

  EventPumpOptions options_;
  chat::Logger& logger_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<std::uint64_t> next_id_{1};

  // Publishers, adopters, stop().
  std::mutex mu_;
  std::vector<std::pair<int, std::shared_ptr<EventStreamHandoff>>> adopted_;
  std::vector<std::uint64_t> changed_;
  std::vector<std::pair<std::uint64_t, chat::Event>> ephemeral_;
  bool woken_ = false;
  bool stopping_ = false;

  // Pump thread only.
  std::unordered_map<std::uint64_t, std::unique_ptr<Entry>> entries_;
  std::deque<std::uint64_t> runnable_;
  std::vector<std::uint64_t> ended_;

  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> events_sent_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> closed_for_input_{0};
  std::atomic<std::size_t> pending_bytes_{0};
  std::thread thread_;
};

}  // namespace chatd
