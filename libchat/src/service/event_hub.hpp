// Change notification per conversation: what wakes long-polls
// (wait_for_messages) and event streams (service/event_streams.hpp), and
// carries ephemeral events (typing) to the streams. Private to libchat.
//
// Design:
// - Every conversation that someone is watching has a Slot: a version number
//   and its own condition variable. publish() bumps the version and wakes only
//   that slot's waiters, so a post into one conversation never wakes the
//   thousands of threads waiting on others.
// - Slots live in a fixed number of shards (a mutex and a hash map each), so
//   that publishers and waiters of unrelated conversations rarely contend.
// - A slot exists only while something holds it (a Watch, a waiter inside
//   wait_for_change, or a Subscription); the last one out erases it, so slots
//   do not accumulate for conversations nobody watches.
// - Versions are drawn from one global sequence: publish() always takes the
//   next number, and a conversation without a slot reports the current value
//   of the sequence. Hence a publish that happens after version() returned
//   `v` always makes the conversation's version differ from `v`, even when the
//   slot was erased and re-created in between: no lost wakeups. The price is
//   an occasional spurious "changed" for callers that do not hold a Watch;
//   callers re-check their condition anyway.
// - publish_all() (a change whose conversation is unknown: another store's
//   notices may have been lost, chat/store.hpp ExternalChange) keeps the
//   same rule per shard: under each shard's mutex it takes the next number of
//   the sequence and gives it to every slot of that shard. A slot created on
//   a shard after its turn starts at the sequence, which is already past any
//   version() read before publish_all began; so every watcher of every
//   conversation sees its version move, as if each had been published.
// - Ephemeral events (publish_ephemeral) reach subscribers only: they move no
//   version and wake no waiter, because they are not changes (a long-poll
//   waiting for messages must keep waiting through someone's typing).
//
// Deadlines are steady_clock time points: waiting is about real time, not the
// injected domain Clock (a ManualClock never moves by itself).
//
// Thread safety: every member may be called from any thread. Watches and
// Subscriptions must not outlive their hub.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat {
struct Event;
}  // namespace chat

namespace chat::detail {

// What changed; passed to subscribers. `kind` is a short stable name;
// `message_id` is 0 when the change is not about one message. ChatService
// publishes, always after the store committed the change:
//   message.created, message.updated, message.deleted, message.restored
//     (with message_id);
//   conversation.created, conversation.updated, conversation.deleted,
//   conversation.restored, conversation.cleared, conversation.read.
// `kind` points at a string literal: it stays valid after the callback.
// `ephemeral` is set for publish_ephemeral() only (version 0, kind "typing"):
// the event itself, valid during the callback only.
struct HubEvent {
  std::int64_t conversation_id = 0;
  std::uint64_t version = 0;
  std::string_view kind;
  std::int64_t message_id = 0;
  const Event* ephemeral = nullptr;
};

class EventHub {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  using Callback = std::function<void(const HubEvent& event)>;

  struct Slot;
  struct Shard;
  struct Subscriber;

  EventHub();
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Pins a conversation's slot for its lifetime, so that its version only
  // moves on publishes to that conversation (no spurious changes). The
  // intended loop: v = watch.version(); query the store; if nothing new,
  // watch.wait_for_change(v, deadline); repeat.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch();

    std::uint64_t version() const;
    // True when the version differs from `seen` (now or before the deadline);
    // false at the deadline, after shutdown(), or once `stop` is requested
    // (the waiter's caller went away).
    bool wait_for_change(std::uint64_t seen, Deadline deadline, const std::stop_token& stop = {}) const;

   private:
    friend class EventHub;
    Watch(EventHub* hub, std::int64_t conversation_id, Slot* slot)
        : hub_(hub), conversation_id_(conversation_id), slot_(slot) {}
    void reset() noexcept;

    EventHub* hub_ = nullptr;
    std::int64_t conversation_id_ = 0;
    Slot* slot_ = nullptr;
  };

  // Unsubscribes on destruction. Once the destructor returned, the callback is
  // not running and will not run again.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();

    bool active() const noexcept { return hub_ != nullptr; }
    void reset() noexcept;

   private:
    friend class EventHub;
    Subscription(EventHub* hub, std::int64_t conversation_id, std::shared_ptr<Subscriber> sub)
        : hub_(hub), conversation_id_(conversation_id), sub_(std::move(sub)) {}

    EventHub* hub_ = nullptr;
    std::int64_t conversation_id_ = 0;
    std::shared_ptr<Subscriber> sub_;
  };

  Watch watch(std::int64_t conversation_id);

  // The conversation's current version (see the header comment for what it
  // means for a conversation nobody watches).
  std::uint64_t version(std::int64_t conversation_id);

  // Waits until the conversation's version differs from `seen`. True on a
  // change, false at the deadline or after shutdown().
  bool wait_for_change(std::int64_t conversation_id, std::uint64_t seen, Deadline deadline);

  // Records a change and wakes the conversation's waiters, then calls its
  // subscribers on this thread (outside the hub's locks). Returns the new version.
  std::uint64_t publish(std::int64_t conversation_id, std::string_view kind = "changed",
                        std::int64_t message_id = 0);

  // publish() for every conversation at once: every slot's version moves
  // (see the header comment), every waiter wakes, and every subscriber is
  // called on this thread (HubEvent::conversation_id: its own conversation).
  // For changes whose conversation is unknown; costs a re-read per watcher.
  void publish_all(std::string_view kind = "changed");

  // Calls the conversation's subscribers with `event` (HubEvent::ephemeral),
  // on this thread; moves no version and wakes no waiter.
  void publish_ephemeral(std::int64_t conversation_id, const Event& event);

  // Calls `callback` for every publish on the conversation until the
  // Subscription is destroyed. Callbacks run on the publisher's thread and
  // should be quick (e.g. notify a queue). A callback may publish or drop its
  // own Subscription without deadlocking.
  Subscription subscribe(std::int64_t conversation_id, Callback callback);

  // Wakes every waiter; from now on waits return false at once. Publishes
  // still bump versions and reach subscribers.
  void shutdown();
  bool is_shut_down() const noexcept { return shutdown_.load(); }

  // Slots currently alive (tests: nothing accumulates).
  std::size_t slot_count() const;

 private:
  static constexpr std::size_t kShards = 64;

  Shard& shard_for(std::int64_t conversation_id) const;
  // Outside the hub's locks.
  static void call(const std::vector<std::shared_ptr<Subscriber>>& subscribers, const HubEvent& event);
  // Both require the shard's mutex held.
  Slot* acquire_locked(Shard& shard, std::int64_t conversation_id);
  void release_locked(Shard& shard, std::int64_t conversation_id, Slot* slot);
  void release(std::int64_t conversation_id, Slot* slot);
  bool wait_locked(std::unique_lock<std::mutex>& lock, Slot* slot, std::uint64_t seen, Deadline deadline,
                   const std::stop_token& stop = {});

  std::unique_ptr<std::array<Shard, kShards>> shards_;
  std::atomic<std::uint64_t> sequence_{0};
  std::atomic<bool> shutdown_{false};
};

}  // namespace chat::detail
