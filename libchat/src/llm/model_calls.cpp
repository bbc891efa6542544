#include "llm/model_calls.hpp"

#include <string>
#include <string_view>

namespace chat::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The longest prefix of `s` of at most `limit` bytes that does not end inside
// a UTF-8 sequence (a continuation byte never starts the rest).
std::size_t utf8_cut(std::string_view s, std::size_t limit) {
  if (limit >= s.size()) return s.size();
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

struct ModelCalls::Call {
  std::stop_source stop;
  std::atomic<Reason> reason{Reason::kNone};
  // Guarded by ModelCalls::mu_.
  bool armed = false;
  Reason timer_reason = Reason::kNone;
  std::multimap<SteadyClock::time_point, Call*>::iterator timer;

  void fire(Reason why) noexcept {
    Reason none = Reason::kNone;
    reason.compare_exchange_strong(none, why);
    stop.request_stop();
  }
};

void ModelCalls::Permit::reset() noexcept {
  if (owner_ != nullptr) owner_->in_flight_.fetch_sub(1);
  owner_ = nullptr;
}

ModelCalls::ModelCalls(std::shared_ptr<LlmProvider> llm, ModelCallBounds bounds)
    : llm_(std::move(llm)), bounds_(bounds) {}

ModelCalls::~ModelCalls() {
  shutdown();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<ModelCalls::Permit> ModelCalls::admit() {
  if (is_shut_down()) return Error::unavailable("the server is stopping; no new model calls");
  const int before = in_flight_.fetch_add(1);
  if (bounds_.max_concurrent > 0 && before >= bounds_.max_concurrent) {
    in_flight_.fetch_sub(1);
    return Error::resource_exhausted("too many model calls in flight; retry shortly");
  }
  return Permit(this);
}

Status ModelCalls::check_admissible() const {
  if (is_shut_down()) return Error::unavailable("the server is stopping; no new model calls");
  if (bounds_.max_concurrent > 0 && in_flight_.load() >= bounds_.max_concurrent)
    return Error::resource_exhausted("too many model calls in flight; retry shortly");
  return {};
}

Result<Completion> ModelCalls::complete(const Permit& permit, CompletionRequest request) {
  if (!permit.held()) return Error::internal("a model call without a permit");
  return run(std::move(request), nullptr);
}

Result<Completion> ModelCalls::stream(const Permit& permit, CompletionRequest request, const ChunkCallback& on_chunk) {
  if (!permit.held()) return Error::internal("a model call without a permit");
  return run(std::move(request), &on_chunk);
}

void ModelCalls::shutdown() noexcept { service_stop_.request_stop(); }

Error ModelCalls::timeout_error(Reason reason) const {
  if (reason == Reason::kFirstChunk)
    return Error::deadline_exceeded("the model sent nothing within " + std::to_string(bounds_.first_chunk_timeout.count()) +
                                    " ms");
  return Error::deadline_exceeded("the model call did not finish within " + std::to_string(bounds_.deadline.count()) +
                                  " ms");
}

Result<Completion> ModelCalls::run(CompletionRequest request, const ChunkCallback* on_chunk) {
  if (!request.max_tokens && bounds_.default_max_tokens > 0) request.max_tokens = bounds_.default_max_tokens;

  Call call;
  // Either stop, the caller's or the service's, stops this call. A token
  // already requested runs its callback here, before the provider is asked.
  std::stop_callback from_caller(request.stop, [&call] { call.fire(Reason::kCancelled); });
  std::stop_callback from_service(service_stop_.get_token(), [&call] { call.fire(Reason::kCancelled); });
  request.stop = call.stop.get_token();

  const auto started = SteadyClock::now();
  const auto never = SteadyClock::time_point::max();
  const auto deadline = bounds_.deadline.count() > 0 ? started + bounds_.deadline : never;
  // A non-streaming call's first byte is its whole answer: the first-chunk
  // wait bounds all of it.
  const auto first = bounds_.first_chunk_timeout.count() > 0 ? started + bounds_.first_chunk_timeout : never;
  if (first < deadline) {
    arm(call, first, Reason::kFirstChunk);
  } else if (deadline != never) {
    arm(call, deadline, Reason::kDeadline);
  }

  std::string kept;  // the text passed on (streams), for a reply cut at the cap
  const std::size_t cap = bounds_.max_reply_bytes;
  Result<Completion> r = Error::unavailable("the model call was cancelled");
  if (call.reason.load() == Reason::kNone) {
    try {
      if (on_chunk == nullptr) {
        r = llm_->complete(request);
      } else {
        bool seen_first = false;
        r = llm_->stream(request, [&](std::string_view chunk) -> bool {
          if (call.stop.stop_requested()) return false;
          if (chunk.empty()) return true;
          if (!seen_first) {
            seen_first = true;
            // The first chunk came: from now on only the deadline counts.
            if (first < deadline) {
              arm(call, deadline, Reason::kDeadline);
            } else if (deadline == never) {
              disarm(call);
            }
          }
          std::string_view piece = chunk;
          bool full = false;
          if (cap > 0 && kept.size() + chunk.size() > cap) {
            piece = chunk.substr(0, utf8_cut(chunk, cap - kept.size()));
            full = true;
          }
          if (!piece.empty()) {
            if (!(*on_chunk)(piece)) return false;
            kept.append(piece);
          }
          if (full) {
            // Stopping by returning false keeps what the provider knows
            // (model, usage); the reason makes the outcome "length".
            Reason none = Reason::kNone;
            call.reason.compare_exchange_strong(none, Reason::kSize);
            return false;
          }
          return true;
        });
      }
    } catch (...) {
      r = Error::upstream("the model provider failed");
    }
  }
  disarm(call);

  switch (call.reason.load()) {
    case Reason::kNone:
      break;
    case Reason::kCancelled:
      return Error::unavailable("the model call was cancelled");
    case Reason::kFirstChunk:
    case Reason::kDeadline:
      return timeout_error(call.reason.load());
    case Reason::kSize: {
      Completion c;
      if (r) c = std::move(*r);
      if (c.model.empty()) c.model = request.model;
      c.content = std::move(kept);
      c.finish_reason = "length";
      return c;
    }
  }
  if (r && on_chunk == nullptr && cap > 0 && r->content.size() > cap) {
    r->content.resize(utf8_cut(r->content, cap));
    r->finish_reason = "length";
  }
  return r;
}

void ModelCalls::arm(Call& call, TimePoint due, Reason reason) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  if (call.armed) timers_.erase(call.timer);
  call.timer = timers_.emplace(due, &call);
  call.timer_reason = reason;
  call.armed = true;
  if (!thread_.joinable()) thread_ = std::thread([this] { watchdog(); });
  if (call.timer == timers_.begin()) cv_.notify_all();
}

void ModelCalls::disarm(Call& call) {
  std::unique_lock lock(mu_);
  if (call.armed) timers_.erase(call.timer);
  call.armed = false;
  // The watchdog may be firing this call right now, outside the lock: the
  // call must outlive that.
  cv_.wait(lock, [&] { return firing_ != &call; });
}

void ModelCalls::watchdog() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto it = timers_.begin();
    if (it->first > SteadyClock::now()) {
      // A copy: arm()/disarm() may erase that timer (and its key) while the
      // lock is released inside the wait, which reads the time point again.
      const TimePoint due = it->first;
      cv_.wait_until(lock, due);
      continue;
    }
    Call* call = it->second;
    timers_.erase(it);
    call->armed = false;
    // Fired outside the lock: a provider's stop callback (a socket shutdown)
    // must never wait behind, or deadlock with, the timers.
    firing_ = call;
    const Reason why = call->timer_reason;
    lock.unlock();
    call->fire(why);
    lock.lock();
    firing_ = nullptr;
    cv_.notify_all();
  }
}

}  // namespace chat::detail
