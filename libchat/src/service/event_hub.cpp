#include "service/event_hub.hpp"

#include <algorithm>

namespace chat::detail {

struct EventHub::Subscriber {
  // Recursive so that a callback may publish on its own conversation or drop
  // its own Subscription from inside the call.
  std::recursive_mutex mu;
  bool active = true;
  Callback callback;
};

struct EventHub::Slot {
  std::condition_variable cv;
  std::uint64_t version = 0;
  std::size_t refs = 0;  // watches + waiters + subscriptions
  std::vector<std::shared_ptr<Subscriber>> subscribers;
};

struct EventHub::Shard {
  mutable std::mutex mu;
  std::unordered_map<std::int64_t, std::unique_ptr<Slot>> slots;
};

EventHub::EventHub() : shards_(std::make_unique<std::array<Shard, kShards>>()) {}

EventHub::~EventHub() { shutdown(); }

EventHub::Shard& EventHub::shard_for(std::int64_t conversation_id) const {
  // Ids are sequential, so a plain modulo spreads them evenly.
  const auto u = static_cast<std::uint64_t>(conversation_id);
  return (*shards_)[u % kShards];
}

EventHub::Slot* EventHub::acquire_locked(Shard& shard, std::int64_t conversation_id) {
  auto& entry = shard.slots[conversation_id];
  if (!entry) {
    entry = std::make_unique<Slot>();
    // A new slot starts at the current sequence: any publish after a caller
    // read version() (which reported the sequence) has moved past it.
    entry->version = sequence_.load();
  }
  ++entry->refs;
  return entry.get();
}

void EventHub::release_locked(Shard& shard, std::int64_t conversation_id, Slot* slot) {
  if (--slot->refs == 0) shard.slots.erase(conversation_id);
}

void EventHub::release(std::int64_t conversation_id, Slot* slot) {
  Shard& shard = shard_for(conversation_id);
  std::lock_guard lock(shard.mu);
  release_locked(shard, conversation_id, slot);
}

bool EventHub::wait_locked(std::unique_lock<std::mutex>& lock, Slot* slot, std::uint64_t seen,
                           Deadline deadline, const std::stop_token& stop) {
  slot->cv.wait_until(lock, deadline,
                      [&] { return slot->version != seen || shutdown_.load() || stop.stop_requested(); });
  return slot->version != seen;
}

// ---- Watch

EventHub::Watch::Watch(Watch&& other) noexcept
    : hub_(other.hub_), conversation_id_(other.conversation_id_), slot_(other.slot_) {
  other.hub_ = nullptr;
  other.slot_ = nullptr;
}

EventHub::Watch& EventHub::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    reset();
    hub_ = other.hub_;
    conversation_id_ = other.conversation_id_;
    slot_ = other.slot_;
    other.hub_ = nullptr;
    other.slot_ = nullptr;
  }
  return *this;
}

EventHub::Watch::~Watch() { reset(); }

void EventHub::Watch::reset() noexcept {
  if (hub_ != nullptr) hub_->release(conversation_id_, slot_);
  hub_ = nullptr;
  slot_ = nullptr;
}

std::uint64_t EventHub::Watch::version() const {
  if (hub_ == nullptr) return 0;
  std::lock_guard lock(hub_->shard_for(conversation_id_).mu);
  return slot_->version;
}

bool EventHub::Watch::wait_for_change(std::uint64_t seen, Deadline deadline, const std::stop_token& stop) const {
  if (hub_ == nullptr) return false;
  Shard& shard = hub_->shard_for(conversation_id_);
  Slot* slot = slot_;  // pinned by this watch for the whole wait
  // Taking the shard's mutex before notifying closes the gap between the
  // waiter's check of the token and its sleep. Declared before `lock`, so the
  // lock is released before this waits for a callback running elsewhere.
  std::stop_callback wake(stop, [&shard, slot] {
    { std::lock_guard held(shard.mu); }
    slot->cv.notify_all();
  });
  std::unique_lock lock(shard.mu);
  return hub_->wait_locked(lock, slot, seen, deadline, stop);
}

EventHub::Watch EventHub::watch(std::int64_t conversation_id) {
  Shard& shard = shard_for(conversation_id);
  std::lock_guard lock(shard.mu);
  return Watch(this, conversation_id, acquire_locked(shard, conversation_id));
}

// ---- Subscription

EventHub::Subscription::Subscription(Subscription&& other) noexcept
    : hub_(other.hub_), conversation_id_(other.conversation_id_), sub_(std::move(other.sub_)) {
  other.hub_ = nullptr;
}

EventHub::Subscription& EventHub::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    hub_ = other.hub_;
    conversation_id_ = other.conversation_id_;
    sub_ = std::move(other.sub_);
    other.hub_ = nullptr;
  }
  return *this;
}

EventHub::Subscription::~Subscription() { reset(); }

void EventHub::Subscription::reset() noexcept {
  if (hub_ == nullptr) return;
  {
    Shard& shard = hub_->shard_for(conversation_id_);
    std::lock_guard lock(shard.mu);
    auto it = shard.slots.find(conversation_id_);
    if (it != shard.slots.end()) {
      Slot* slot = it->second.get();
      auto& subs = slot->subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sub_), subs.end());
      hub_->release_locked(shard, conversation_id_, slot);
    }
  }
  {
    // Waits for a callback in flight on another thread; after this nothing
    // calls it again (publishers check `active` under the same mutex).
    std::lock_guard lock(sub_->mu);
    sub_->active = false;
  }
  hub_ = nullptr;
  sub_.reset();
}

EventHub::Subscription EventHub::subscribe(std::int64_t conversation_id, Callback callback) {
  auto sub = std::make_shared<Subscriber>();
  sub->callback = std::move(callback);
  Shard& shard = shard_for(conversation_id);
  std::lock_guard lock(shard.mu);
  Slot* slot = acquire_locked(shard, conversation_id);
  slot->subscribers.push_back(sub);
  return Subscription(this, conversation_id, std::move(sub));
}

// ---- hub

std::uint64_t EventHub::version(std::int64_t conversation_id) {
  Shard& shard = shard_for(conversation_id);
  std::lock_guard lock(shard.mu);
  auto it = shard.slots.find(conversation_id);
  return it != shard.slots.end() ? it->second->version : sequence_.load();
}

bool EventHub::wait_for_change(std::int64_t conversation_id, std::uint64_t seen, Deadline deadline) {
  Shard& shard = shard_for(conversation_id);
  std::unique_lock lock(shard.mu);
  Slot* slot = acquire_locked(shard, conversation_id);
  const bool changed = wait_locked(lock, slot, seen, deadline);
  release_locked(shard, conversation_id, slot);
  return changed;
}

std::uint64_t EventHub::publish(std::int64_t conversation_id, std::string_view kind, std::int64_t message_id) {
  std::vector<std::shared_ptr<Subscriber>> to_call;
  std::uint64_t version = 0;
  {
    Shard& shard = shard_for(conversation_id);
    std::lock_guard lock(shard.mu);
    // Taken under the shard lock so that a slot created concurrently on this
    // shard sees either the old sequence (and then this bump) or the new one.
    version = ++sequence_;
    auto it = shard.slots.find(conversation_id);
    if (it != shard.slots.end()) {
      Slot* slot = it->second.get();
      slot->version = version;
      slot->cv.notify_all();
      to_call = slot->subscribers;
    }
  }
  call(to_call, HubEvent{conversation_id, version, kind, message_id, nullptr});
  return version;
}

void EventHub::publish_all(std::string_view kind) {
  struct Call {
    std::int64_t conversation_id;
    std::uint64_t version;
    std::vector<std::shared_ptr<Subscriber>> subscribers;
  };
  std::vector<Call> calls;
  for (Shard& shard : *shards_) {
    std::lock_guard lock(shard.mu);
    // One number per shard, taken under its lock, exactly as publish() does
    // for one conversation: the no-lost-wakeup argument holds shard by shard.
    const std::uint64_t version = ++sequence_;
    for (auto& [conversation_id, slot] : shard.slots) {
      slot->version = version;
      slot->cv.notify_all();
      if (!slot->subscribers.empty()) calls.push_back(Call{conversation_id, version, slot->subscribers});
    }
  }
  for (const Call& c : calls) call(c.subscribers, HubEvent{c.conversation_id, c.version, kind, 0, nullptr});
}

void EventHub::publish_ephemeral(std::int64_t conversation_id, const Event& event) {
  std::vector<std::shared_ptr<Subscriber>> to_call;
  {
    Shard& shard = shard_for(conversation_id);
    std::lock_guard lock(shard.mu);
    auto it = shard.slots.find(conversation_id);
    if (it == shard.slots.end()) return;  // nobody listens: nothing to keep
    to_call = it->second->subscribers;
  }
  call(to_call, HubEvent{conversation_id, 0, "typing", 0, &event});
}

void EventHub::call(const std::vector<std::shared_ptr<Subscriber>>& subscribers, const HubEvent& event) {
  for (const auto& sub : subscribers) {
    std::lock_guard lock(sub->mu);
    if (sub->active && sub->callback) sub->callback(event);
  }
}

void EventHub::shutdown() {
  shutdown_.store(true);
  for (Shard& shard : *shards_) {
    std::lock_guard lock(shard.mu);
    for (auto& [id, slot] : shard.slots) slot->cv.notify_all();
  }
}

std::size_t EventHub::slot_count() const {
  std::size_t n = 0;
  for (const Shard& shard : *shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.slots.size();
  }
  return n;
}

}  // namespace chat::detail
