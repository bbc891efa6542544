// ModelCalls: the bounds of ServiceOptions::model_calls (chat/service.hpp,
// ModelCallBounds) applied to any LlmProvider. Private to libchat.
//
// A call is admitted first (admit(): kResourceExhausted when max_concurrent
// calls hold a Permit, kUnavailable once shut down), so that a caller can be
// refused before it stores anything; then complete() or stream() run it with
// the Permit. Every call gets its own std::stop_source, requested by whichever
// comes first:
//   - the caller's token (CompletionRequest::stop): kUnavailable "cancelled";
//   - shutdown(): the same;
//   - the watchdog at the first-chunk timeout or the deadline: kDeadlineExceeded;
//   - the reply reaching max_reply_bytes: not an error, the reply cut there with
//     finish_reason "length".
// The provider sees only the combined token; the reason is recorded once
// (the first to fire wins) and decides the outcome, whatever the provider
// answered after being stopped.
//
// One watchdog thread per ModelCalls, started with the first timed call and
// joined by the destructor, holds the armed deadlines in time order; firing a
// deadline only requests a stop, which a provider turns into a socket
// shutdown, so the thread never blocks on a model.
//
// Thread safety: every member may be called from any thread. Permits must not
// outlive their ModelCalls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "chat/llm.hpp"
#include "chat/service.hpp"

namespace chat::detail {

class ModelCalls {
 public:
  ModelCalls(std::shared_ptr<LlmProvider> llm, ModelCallBounds bounds);
  ~ModelCalls();
  ModelCalls(const ModelCalls&) = delete;
  ModelCalls& operator=(const ModelCalls&) = delete;

  // One admitted call's place among max_concurrent; released on destruction.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { reset(); }
    bool held() const noexcept { return owner_ != nullptr; }

   private:
    friend class ModelCalls;
    explicit Permit(ModelCalls* owner) : owner_(owner) {}
    void reset() noexcept;
    ModelCalls* owner_ = nullptr;
  };

  // kResourceExhausted when full; kUnavailable after shutdown().
  Result<Permit> admit();
  // What admit() would answer now, without taking a place (a snapshot).
  Status check_admissible() const;
  // The request as sent: default max_tokens filled in, stop combined.
  Result<Completion> complete(const Permit& permit, CompletionRequest request);
  Result<Completion> stream(const Permit& permit, CompletionRequest request, const ChunkCallback& on_chunk);

  // Cancels every call in flight and refuses later ones. Idempotent.
  void shutdown() noexcept;
  bool is_shut_down() const noexcept { return service_stop_.stop_requested(); }
  int in_flight() const noexcept { return in_flight_.load(); }
  const ModelCallBounds& bounds() const noexcept { return bounds_; }

  // Why a call was stopped (the first reason wins).
  enum class Reason : int { kNone, kCancelled, kFirstChunk, kDeadline, kSize };
  struct Call;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  Result<Completion> run(CompletionRequest request, const ChunkCallback* on_chunk);
  void arm(Call& call, TimePoint due, Reason reason);
  void disarm(Call& call);
  void watchdog();
  Error timeout_error(Reason reason) const;

  const std::shared_ptr<LlmProvider> llm_;
  const ModelCallBounds bounds_;
  std::atomic<int> in_flight_{0};
  std::stop_source service_stop_;

  std::mutex mu_;  // guards the timers, the thread and stopping_
  std::condition_variable cv_;
  std::multimap<TimePoint, Call*> timers_;
  std::thread thread_;
  bool stopping_ = false;
  Call* firing_ = nullptr;  // the call the watchdog is stopping, outside mu_
};

}  // namespace chat::detail
