// worker_pool.hpp: chatd's HTTP worker threads, created on demand up to a
// maximum and ended after a linger time idle (issue 11, "Footprint").
//
// httplib::ThreadPool starts all of its threads at once: 1,536 threads for
// chatd's default --threads, ~25 MB of RSS idle, and under load the tasks
// rotate over every thread (one condition variable, FIFO wake-ups), so each
// one's stack pages are touched and stay resident. WorkerPool implements the
// same httplib::TaskQueue interface (the reactor takes it unchanged) and:
// - starts `min_threads` threads (the floor, never ended before shutdown, so
//   the first requests do not pay a thread creation);
// - enqueue() gives the task to an idle thread if there is one, else starts a
//   new thread for it while fewer than `max_threads` are alive, else queues it
//   (FIFO) until a thread finishes its task: as httplib::ThreadPool did. The
//   queue itself has no bound: chatd's reactor hands at most one task per open
//   connection, so the queue is bounded by --max-connections, and streams
//   (which hold a thread for their life) are bounded below max_threads by
//   StreamSlots, so queued plain requests are served as threads come free.
//   A thread is idle only once its task returned: under saturation chatd's
//   reactor often hands a connection's next request before the worker that
//   gave it back is idle, so the pool grows past the connections in flight
//   (108 threads for wrk -c64 on /healthz, measured); the extra ones linger out;
// - idle threads wait LIFO: the thread idle the shortest takes the next task,
//   so under a light load the same few threads serve everything and the
//   others reach their linger time and end (a thread above the floor that
//   stays idle for `linger` ends; its stack and arena pages go back);
// - a thread that cannot be created (EAGAIN: the process or system thread
//   limit) leaves the task queued for the threads alive; the failures are
//   counted (spawn_failures()).
//
// Thread safety: every member function may be called from any thread.
// enqueue() after shutdown() drops the task (it is destroyed without running;
// chatd never does this: the reactor stops before the pool). shutdown() is
// idempotent; it lets every running task finish and runs every task already
// queued, then joins every thread, and returns after that. It must not be
// called from a task of this pool. The destructor calls shutdown().
// A task that throws ends the process (std::terminate), as with
// httplib::ThreadPool; chatd's tasks catch everything.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace chatd {

struct WorkerPoolOptions {
  std::size_t max_threads = 1536;  // at least 1
  std::size_t min_threads = 8;     // the floor; clamped to [1, max_threads]
  // An idle thread above the floor ends after this long without a task.
  std::chrono::milliseconds linger{30'000};
};

class WorkerPool final : public httplib::TaskQueue {
 public:
  // Starts options.min_threads threads; throws std::system_error when one of
  // them cannot be created.
  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // Gauges (a snapshot; /metrics).
  std::size_t threads() const;  // alive now
  std::size_t busy() const;     // running a task now
  std::size_t queued() const;   // tasks waiting for a thread
  std::size_t max_threads() const noexcept { return options_.max_threads; }
  // Counters since start.
  std::uint64_t threads_started() const;
  std::uint64_t threads_lingered_out() const;  // ended after `linger` idle
  std::uint64_t spawn_failures() const;

 private:
  struct Worker {
    std::thread thread;
    std::condition_variable wake;
    std::function<void()> task;  // given by enqueue() while idle
    std::list<Worker>::iterator self;
  };

  // mu_ held; throws std::system_error when the thread cannot be created.
  void spawn(std::function<void()> first);
  void run(Worker& w, std::function<void()> task);

  WorkerPoolOptions options_;
  std::mutex shutdown_mu_;
  mutable std::mutex mu_;
  std::condition_variable all_exited_;
  std::list<Worker> alive_;    // stable addresses; a Worker leaves when its thread ends
  std::list<Worker> exited_;   // ended, joined by the next thread to end or by shutdown()
  std::vector<Worker*> idle_;  // LIFO: back() idled last
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;
  bool shutdown_ = false;
  bool joined_ = false;
  std::uint64_t started_ = 0;
  std::uint64_t lingered_out_ = 0;
  std::uint64_t spawn_failures_ = 0;
};

}  // namespace chatd
