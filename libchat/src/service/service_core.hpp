// The state every part of the ChatService shares: its dependencies, options
// and event hub, and the common guard every public operation runs through.
// Private to libchat.
//
// The guard is where rules that hold for every operation live, so that no
// operation repeats them:
// - Nothing throws out of the service: an exception from a store, provider or
//   callback becomes kInternal ("internal error") and is logged.
// - A caller that is not anonymous must carry a user_id (kUnauthenticated
//   "the caller has no user id"); an anonymous caller's user_id is ignored.
//
// Changes: every operation that committed a change calls publish(), which
// wakes the conversation's long-polls and event streams (EventHub) and, at
// most once a minute by the injected clock, trims the change log to
// ServiceOptions::event_retention (no thread of its own: a write pays for it,
// a bounded batch at a time).
//
// Changes made through other stores on the same database (issue 13): the
// core registers a change listener on the store at construction
// (Store::set_change_listener) and removes it in its destructor, before the
// hub is destroyed. A change of one conversation publishes on the hub (its
// long-polls and streams re-read by cursor); conversation 0 publishes to
// every watched conversation (EventHub::publish_all); a typing notice
// (service/typing_notice.hpp) reaches the conversation's streams
// (EventHub::publish_ephemeral). The listener runs on the store's thread and
// never calls the store (no trim from there), as the Store contract asks.
// One ChatService per Store object: a second one would replace the listener.
//
// Thread safety: the members are set at construction and then only read
// (next_trim_ms is atomic); the store, provider, clock, logger, token
// counter, hub and calls are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/service.hpp"
#include "llm/model_calls.hpp"
#include "service/event_hub.hpp"

namespace chat::detail {

// kUnauthenticated for a non-anonymous principal without a user_id.
Status check_principal(const Principal& who);

struct ServiceCore {
  ServiceCore(ServiceDeps deps, ServiceOptions opts);
  ~ServiceCore();
  ServiceCore(const ServiceCore&) = delete;
  ServiceCore& operator=(const ServiceCore&) = delete;

  std::shared_ptr<Store> store;
  std::shared_ptr<LlmProvider> llm;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<Logger> logger;
  std::shared_ptr<TokenCounter> tokens;
  const ServiceOptions options;
  EventHub hub;
  // Every provider call goes through here: the bounds of options.model_calls,
  // cancellation, and shutdown (llm/model_calls.hpp).
  ModelCalls calls;
  // When the change log may be trimmed next (ms since the epoch, domain clock).
  std::atomic<std::int64_t> next_trim_ms{0};

  Timestamp now() const { return clock->now(); }
  // After the store committed a change: EventHub::publish, then the change
  // log's trim when it is due.
  void publish(std::int64_t conversation_id, std::string_view kind, std::int64_t message_id = 0);
  // The store's change listener (see the header comment); never throws.
  void on_external_change(const ExternalChange& change) noexcept;
  // Trims the change log when a minute passed since the last trim (or the
  // last one stopped at its batch size). Failures are logged, never returned:
  // the write that pays for it already committed.
  void trim_events_if_due();
  // The budget of one caller-facing page (ServiceOptions::max_page_bytes);
  // `per_item_bytes` for answers that repeat a shared object in each item.
  ByteBudget page_budget(std::size_t per_item_bytes = 0) const { return {options.max_page_bytes, per_item_bytes}; }
  void log(LogLevel level, const std::string& message) const;
  // Who did a destructive change, and when (anonymous callers: no actor).
  AuditContext audit(const Principal& who) const;
  // The count the store keeps with a message for context windows
  // (NewMessage::content_tokens): `content` counted by the service's counter,
  // or nullopt when the counter's counts are not cached (no counter_id) or
  // the message can never be in a window (a system or failed message, empty
  // content). `counted`: the caller's count of this content by this
  // counter, not counted again.
  std::optional<TokenCount> context_tokens(Role role, MessageStatus status, std::string_view content,
                                           std::optional<std::int64_t> counted = std::nullopt) const;

  // Runs `f` for operation `op` of `who` under the common rules above.
  template <typename F>
  auto guard(std::string_view op, const Principal& who, F&& f) -> decltype(f()) {
    try {
      CHAT_RETURN_IF_ERROR(check_principal(who));
      return f();
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string(op) + ": unexpected exception: " + e.what());
    } catch (...) {
      log(LogLevel::kError, std::string(op) + ": unexpected exception");
    }
    return Error::internal("internal error");
  }
};

}  // namespace chat::detail
