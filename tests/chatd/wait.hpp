// wait.hpp: waiting in tests on a condition, never for a fixed time.
//
// Signal: a flag one thread sets and another waits for (condition variable).
// eventually(pred, timeout): a polling loop with a deadline, only for state
// that nothing notifies about (an atomic counter of the server, rows in the
// store written by another thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace chatd_test {

class Signal {
 public:
  void set() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  bool is_set() const {
    std::lock_guard lock(mu_);
    return set_;
  }
  // True when set before `timeout` ran out.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// True as soon as pred() holds; false when `timeout` ran out first.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace chatd_test
