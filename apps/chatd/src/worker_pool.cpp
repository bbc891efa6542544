#include "worker_pool.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

namespace chatd {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(options) {
  options_.max_threads = std::max<std::size_t>(options_.max_threads, 1);
  options_.min_threads = std::clamp<std::size_t>(options_.min_threads, 1, options_.max_threads);
  std::unique_lock lock(mu_);
  try {
    for (std::size_t i = 0; i < options_.min_threads; ++i) spawn(nullptr);
  } catch (...) {
    lock.unlock();
    shutdown();
    throw;
  }
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::spawn(std::function<void()> first) {
  Worker& w = alive_.emplace_back();
  w.self = std::prev(alive_.end());
  const bool has_task = static_cast<bool>(first);
  try {
    w.thread = std::thread([this, &w, first = std::move(first)]() mutable { run(w, std::move(first)); });
  } catch (...) {
    alive_.pop_back();
    throw;
  }
  // The thread cannot finish its task before we unlock mu_: run() takes it first.
  if (has_task) {
    ++busy_;
  } else {
    idle_.push_back(&w);  // idle from now on, so that enqueue() gives it work at once
  }
  ++started_;
}

void WorkerPool::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (shutdown_) return;  // dropped: see the contract
  if (!idle_.empty()) {
    Worker* w = idle_.back();
    idle_.pop_back();
    w->task = std::move(fn);
    ++busy_;
    // Under the lock: once it is released, `w` may run the task, idle, linger
    // out and be destroyed before a late notify.
    w->wake.notify_one();
    return;
  }
  if (alive_.size() < options_.max_threads) {
    try {
      spawn(fn);  // a copy: on failure `fn` is still ours to queue
      return;
    } catch (const std::system_error&) {
      ++spawn_failures_;
    }
  }
  queue_.push_back(std::move(fn));
}

void WorkerPool::run(Worker& w, std::function<void()> task) {
  std::unique_lock lock(mu_);
  bool lingered_out = false;
  bool registered_idle = !task;  // spawn() put a thread without a task in idle_
  for (;;) {
    if (task) {
      lock.unlock();
      task();
      task = nullptr;  // its captures are released outside the lock
      lock.lock();
      --busy_;
    }
    if (!registered_idle) {
      if (!queue_.empty()) {
        task = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
        continue;
      }
      if (shutdown_) break;
      idle_.push_back(&w);
    }
    registered_idle = false;
    const auto deadline = std::chrono::steady_clock::now() + options_.linger;
    while (!w.task && !shutdown_) {
      if (alive_.size() <= options_.min_threads) {
        w.wake.wait(lock);  // the floor waits without a deadline
      } else if (w.wake.wait_until(lock, deadline) == std::cv_status::timeout && !w.task && !shutdown_ &&
                 alive_.size() > options_.min_threads) {
        lingered_out = true;
        break;
      }
    }
    if (w.task) {  // enqueue() took us off idle_ and counted us busy
      task = std::move(w.task);
      w.task = nullptr;
      continue;
    }
    idle_.erase(std::find(idle_.begin(), idle_.end(), &w));
    if (lingered_out) {
      ++lingered_out_;
      break;
    }
    // shutdown_: run what is still queued, then end.
  }
  // Leave alive_ for exited_, and join the thread that ended before us (it
  // has at most its last few instructions left), so that ended threads never
  // pile up unjoined; shutdown() joins the last one.
  std::list<Worker> previous;
  previous.splice(previous.end(), exited_);
  exited_.splice(exited_.end(), alive_, w.self);
  const bool last = alive_.empty();
  lock.unlock();
  for (Worker& p : previous) p.thread.join();
  if (last) all_exited_.notify_all();
  // `previous` is destroyed here, after the joins.
}

void WorkerPool::shutdown() {
  std::lock_guard serial(shutdown_mu_);  // a second caller returns after the joins
  std::unique_lock lock(mu_);
  if (joined_) return;
  shutdown_ = true;
  for (Worker* w : idle_) w->wake.notify_one();
  all_exited_.wait(lock, [this] { return alive_.empty(); });
  std::list<Worker> ended;
  ended.splice(ended.end(), exited_);
  joined_ = true;
  lock.unlock();
  // Each ended thread joined its predecessor before it returned, so joining
  // these joins every thread this pool started.
  for (Worker& w : ended) w.thread.join();
}

std::size_t WorkerPool::threads() const {
  std::lock_guard lock(mu_);
  return alive_.size();
}

std::size_t WorkerPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::uint64_t WorkerPool::threads_started() const {
  std::lock_guard lock(mu_);
  return started_;
}

std::uint64_t WorkerPool::threads_lingered_out() const {
  std::lock_guard lock(mu_);
  return lingered_out_;
}

std::uint64_t WorkerPool::spawn_failures() const {
  std::lock_guard lock(mu_);
  return spawn_failures_;
}

}  // namespace chatd
