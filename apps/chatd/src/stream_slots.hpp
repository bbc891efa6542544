// stream_slots.hpp: the bound on responses that hold a worker thread, and
// each client address's share of it.
//
// cpp-httplib runs each connection on one pool thread, and a streaming
// response (an SSE stream, a long-poll) keeps that thread for its whole life.
// Past the pool size every other request waits, so such routes take a slot
// first and, when none is free, answer at once with resource_exhausted (429
// with Retry-After) instead of starving the API. The slots are a fraction of
// the pool (Config::max_streams); the rest of the pool serves plain requests.
//
// Per-address share (issue 9): one client address holds at most
// `per_address` slots at once (Config::max_streams_per_address), so one
// client cannot take the whole pool and turn every other stream away; past
// its share it gets the same 429 while others still get slots. The address is
// RequestScope::client_address (the real client behind a trusted proxy).
//
// A second instance bounds each address's share of concurrent model calls
// (RouteContext::model_calls, --llm-max-concurrent-per-address), with an
// unbounded capacity: the global bound on model calls is libchat's.
//
// Thread-safe: one mutex, held only to count (a slot is taken once per
// stream or long-poll, never per byte). State: one counter per address that
// holds a slot now, so at most `capacity` entries.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatd {

class StreamSlots {
 public:
  // Held while a stream or long-poll runs; returns its slot when destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_), address_(std::move(other.address_)) {
      other.owner_ = nullptr;
    }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (owner_) owner_->release(address_);
    }

   private:
    friend class StreamSlots;
    Slot(StreamSlots* owner, std::string address) : owner_(owner), address_(std::move(address)) {}
    StreamSlots* owner_;
    std::string address_;
  };

  // `per_address` 0 or above `capacity`: no share below the pool itself.
  explicit StreamSlots(std::size_t capacity, std::size_t per_address = 0)
      : capacity_(capacity), per_address_(per_address == 0 || per_address > capacity ? capacity : per_address) {}

  // A slot for `client_address`, or nullopt when all `capacity` are taken or
  // that address already holds its share.
  std::optional<Slot> try_acquire(std::string_view client_address) {
    std::lock_guard lock(mu_);
    if (open_.load(std::memory_order_relaxed) >= capacity_) {
      refused_by_pool_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    auto it = by_address_.find(client_address);
    if (it == by_address_.end()) it = by_address_.emplace(std::string(client_address), 0).first;
    if (it->second >= per_address_) {
      refused_by_share_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    ++it->second;
    open_.fetch_add(1, std::memory_order_relaxed);
    return Slot(this, std::string(client_address));
  }

  std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t per_address() const noexcept { return per_address_; }
  // Refusals so far: the pool was full / the address held its share.
  std::uint64_t refused_by_pool() const noexcept { return refused_by_pool_.load(std::memory_order_relaxed); }
  std::uint64_t refused_by_share() const noexcept { return refused_by_share_.load(std::memory_order_relaxed); }
  // Slots held by `client_address` now.
  std::size_t held_by(std::string_view client_address) const {
    std::lock_guard lock(mu_);
    auto it = by_address_.find(client_address);
    return it == by_address_.end() ? 0 : it->second;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  void release(const std::string& address) {
    std::lock_guard lock(mu_);
    open_.fetch_sub(1, std::memory_order_relaxed);
    auto it = by_address_.find(address);
    if (it != by_address_.end() && --it->second == 0) by_address_.erase(it);
  }

  const std::size_t capacity_;
  const std::size_t per_address_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> by_address_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> refused_by_pool_{0};
  std::atomic<std::uint64_t> refused_by_share_{0};
};

}  // namespace chatd
