// stream_slots.hpp: the bound on responses that hold a worker thread.
//
// cpp-httplib runs each connection on one pool thread, and a streaming
// response (an SSE stream, a long-poll) keeps that thread for its whole life.
// Past the pool size every other request waits, so such routes take a slot
// first and, when none is free, answer at once with resource_exhausted (429
// with Retry-After) instead of starving the API. The slots are a fraction of
// the pool (Config::max_streams); the rest of the pool serves plain requests.
//
// Thread-safe (one atomic counter).
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>

namespace chatd {

class StreamSlots {
 public:
  // Held while a stream or long-poll runs; returns its slot when destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (owner_) owner_->open_.fetch_sub(1, std::memory_order_acq_rel);
    }

   private:
    friend class StreamSlots;
    explicit Slot(StreamSlots* owner) : owner_(owner) {}
    StreamSlots* owner_;
  };

  explicit StreamSlots(std::size_t capacity) : capacity_(capacity) {}

  // A slot, or nullopt when all `capacity` are taken.
  std::optional<Slot> try_acquire() {
    std::size_t n = open_.load(std::memory_order_relaxed);
    do {
      if (n >= capacity_) return std::nullopt;
    } while (!open_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
    return Slot(this);
  }

  std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> open_{0};
};

}  // namespace chatd
