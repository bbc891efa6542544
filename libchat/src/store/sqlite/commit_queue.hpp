// Group commit of concurrent writers (issue 11). Private to libchat.
//
// Database::write() hands its work to the CommitQueue as a WriteJob and
// waits. A caller that finds no leader becomes the leader: it takes the
// writer lock, then the jobs queued so far (at most `max_group` of them, in
// arrival order), and runs them as one transaction:
//
//   BEGIN IMMEDIATE
//     SAVEPOINT job; <job 1>; RELEASE job        (job succeeded)
//     SAVEPOINT job; <job 2>; ROLLBACK TO job; RELEASE job   (error Result or exception)
//     ...
//   COMMIT
//
// and only after COMMIT returned hands every job its Result and wakes its
// thread: nothing is acknowledged before it is committed. A job's error
// (an error Result or an exception) rolls back that job alone. When the
// transaction itself is lost (COMMIT fails, a savepoint statement fails, or
// SQLite rolled the whole transaction back after a job's statement failed,
// which SQLITE_FULL, IOERR, BUSY and NOMEM may do; sqlite3_get_autocommit
// tells) every job of the group that had not already failed on its own gets
// that error; none is re-run (a job's closure may have moved its inputs, so
// running it twice is not safe), and the caller may retry as after any
// kUnavailable or kInternal. A group of one runs without a savepoint: the
// lone writer pays exactly BEGIN, its work, COMMIT.
//
// Nobody waits to gather company: the group is whoever queued while the
// previous group ran (or while the leader waited for the writer lock, held
// by with_writer() users such as the search indexer). `max_group` bounds the
// latency the last job of a group sees (each job is a few statements on a
// warm cache, about 30 us for an append; 64 of them stay near 2 ms) and the
// work one failed COMMIT can lose.
//
// Effects outside the database that must follow a commit (the search
// indexer's "largest id assigned") are registered by the job with
// on_commit(); they run, in job order, after the COMMIT succeeded and before
// any job is woken, still under the writer lock. A job rolled back, alone or
// with its group, loses its hooks.
//
// Thread safety: submit() from any number of threads. The queue's mutex is
// never held while the writer lock is taken.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "chat/result.hpp"
#include "store/sqlite/connection.hpp"

namespace chat::sqlite {

// One caller's write, type-erased without allocation: `run` and `fail` refer
// to callables on the caller's stack, which outlives the job (the caller
// waits until it is done).
class WriteJob {
 public:
  // run(Conn&) -> const Error* (null on success; else the job's own error,
  // alive until the job is done); fail(Error) replaces the job's Result.
  template <typename Run, typename Fail>
  WriteJob(Run& run, Fail& fail)
      : run_ctx_(&run),
        fail_ctx_(&fail),
        run_([](void* c, Conn& w) -> const Error* { return (*static_cast<Run*>(c))(w); }),
        fail_([](void* c, Error e) { (*static_cast<Fail*>(c))(std::move(e)); }) {}
  WriteJob(const WriteJob&) = delete;
  WriteJob& operator=(const WriteJob&) = delete;

 private:
  friend class CommitQueue;
  enum class State { kQueued, kSucceeded, kFailed };

  void* run_ctx_;
  void* fail_ctx_;
  const Error* (*run_)(void*, Conn&);
  void (*fail_)(void*, Error);

  // Guarded by CommitQueue::mu_.
  WriteJob* next_ = nullptr;
  bool done_ = false;
  std::condition_variable cv_;
  // Touched only by the leader running the job.
  State state_ = State::kQueued;
};

struct CommitStats {
  std::int64_t groups = 0;  // transactions committed or attempted by leaders
  std::int64_t jobs = 0;    // writes they carried
};

class CommitQueue {
 public:
  // `map_error` turns an exception from SQLite or a job into its domain
  // error (and logs it); `writer_mu` is the writer connection's lock.
  CommitQueue(std::mutex& writer_mu, std::function<Error(std::exception_ptr)> map_error, int max_group);
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Queues `job` and returns when its Result is final: committed, or failed.
  void submit(WriteJob& job, Conn& w);

  // Inside a job only: runs `hook` once the job's group has committed.
  void on_commit(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }

  int max_group() const { return max_group_; }
  std::size_t queued() const;  // jobs waiting for a leader (tests)
  CommitStats stats() const { return {groups_.load(), jobs_.load()}; }

 private:
  void lead(Conn& w);
  void run_group(Conn& w);

  std::mutex& writer_mu_;
  std::function<Error(std::exception_ptr)> map_error_;
  const int max_group_;

  mutable std::mutex mu_;
  WriteJob* head_ = nullptr;  // FIFO of queued jobs, intrusive (no allocation per write)
  WriteJob* tail_ = nullptr;
  std::size_t queued_ = 0;
  bool leading_ = false;

  // The leader's, under the writer lock.
  std::vector<WriteJob*> group_;
  std::vector<std::function<void()>> hooks_;

  std::atomic<std::int64_t> groups_{0};
  std::atomic<std::int64_t> jobs_{0};
};

}  // namespace chat::sqlite
