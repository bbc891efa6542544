#include "store/sqlite/commit_queue.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <optional>

namespace chat::sqlite {

namespace {

// SQLite ended the transaction by itself (after SQLITE_FULL, IOERR, BUSY or
// NOMEM it may roll the whole transaction back, not just the statement).
bool transaction_lost(Conn& w) { return sqlite3_get_autocommit(w.db().getHandle()) != 0; }

}  // namespace

CommitQueue::CommitQueue(std::mutex& writer_mu, std::function<Error(std::exception_ptr)> map_error, int max_group)
    : writer_mu_(writer_mu), map_error_(std::move(map_error)), max_group_(std::max(1, max_group)) {
  group_.reserve(static_cast<std::size_t>(max_group_));
}

std::size_t CommitQueue::queued() const {
  std::lock_guard lk(mu_);
  return queued_;
}

void CommitQueue::submit(WriteJob& job, Conn& w) {
  std::unique_lock lk(mu_);
  if (tail_ != nullptr) {
    tail_->next_ = &job;
  } else {
    head_ = &job;
  }
  tail_ = &job;
  ++queued_;
  bool led = false;
  while (!job.done_) {
    if (leading_) {
      job.cv_.wait(lk);
      continue;
    }
    // No leader: this thread leads one group, then looks again (its own job
    // may sit behind a full group).
    leading_ = true;
    led = true;
    lk.unlock();
    lead(w);
    lk.lock();
    leading_ = false;
  }
  // A leader hands the role on: the oldest waiter leads next (a newcomer
  // that finds no leader first takes it instead, with that waiter in its
  // group).
  if (led && head_ != nullptr) head_->cv_.notify_one();
}

void CommitQueue::lead(Conn& w) {
  std::lock_guard wl(writer_mu_);
  group_.clear();
  {
    // Taken after the writer lock: whoever queued while the leader waited
    // for it (another group, a with_writer() user) joins this group.
    std::lock_guard lk(mu_);
    while (head_ != nullptr && group_.size() < static_cast<std::size_t>(max_group_)) {
      WriteJob* j = head_;
      head_ = j->next_;
      j->next_ = nullptr;
      group_.push_back(j);
    }
    if (head_ == nullptr) tail_ = nullptr;
    queued_ -= group_.size();
  }
  if (group_.empty()) return;
  groups_.fetch_add(1, std::memory_order_relaxed);
  jobs_.fetch_add(static_cast<std::int64_t>(group_.size()), std::memory_order_relaxed);
  try {
    run_group(w);
  } catch (...) {  // NOLINT: only allocation can throw here; every job must still be woken
  }
  std::lock_guard lk(mu_);
  for (WriteJob* j : group_) {
    j->done_ = true;
    // Notified under the queue's mutex: once done_ is seen, the job (and its
    // condition variable, on the waiter's stack) may be gone.
    j->cv_.notify_one();
  }
  group_.clear();
}

void CommitQueue::run_group(Conn& w) {
  hooks_.clear();
  const bool savepoints = group_.size() > 1;
  std::optional<Error> lost;  // the error that ended the whole transaction
  bool any_succeeded = false;
  try {
    w.run("BEGIN IMMEDIATE");
  } catch (...) {
    lost = map_error_(std::current_exception());
  }
  for (WriteJob* j : group_) {
    j->state_ = WriteJob::State::kQueued;
    if (lost) continue;
    const std::size_t hooks_before = hooks_.size();
    try {
      if (savepoints) w.run("SAVEPOINT job");
      std::optional<Error> thrown;
      const Error* failed = nullptr;
      try {
        failed = j->run_(j->run_ctx_, w);
      } catch (...) {
        thrown = map_error_(std::current_exception());
        failed = &*thrown;
        j->fail_(j->fail_ctx_, *thrown);
      }
      j->state_ = failed != nullptr ? WriteJob::State::kFailed : WriteJob::State::kSucceeded;
      if (transaction_lost(w)) {
        // Every job of the group shares the fate of the transaction.
        lost = failed != nullptr ? *failed : Error::internal("storage failure");
        hooks_.clear();
        continue;
      }
      if (j->state_ == WriteJob::State::kSucceeded) {
        if (savepoints) w.run("RELEASE job");
        any_succeeded = true;
      } else {
        hooks_.resize(hooks_before);
        if (savepoints) {
          w.run("ROLLBACK TO job");
          w.run("RELEASE job");
        }
      }
    } catch (...) {
      lost = map_error_(std::current_exception());
    }
  }
  if (!lost && any_succeeded) {
    try {
      w.run("COMMIT");
    } catch (...) {
      lost = map_error_(std::current_exception());
    }
  }
  if (lost || !any_succeeded) {
    // Also when every job failed: nothing to commit.
    if (!transaction_lost(w)) {
      try {
        w.run("ROLLBACK");
      } catch (...) {  // NOLINT: a failed rollback leaves nothing better to do
      }
    }
    hooks_.clear();
    if (lost) {
      for (WriteJob* j : group_) {
        if (j->state_ != WriteJob::State::kFailed) j->fail_(j->fail_ctx_, *lost);
        j->state_ = WriteJob::State::kFailed;
      }
    }
    return;
  }
  for (auto& hook : hooks_) {
    try {
      hook();
    } catch (...) {
      map_error_(std::current_exception());  // logged; the write itself is committed
    }
  }
  hooks_.clear();
}

}  // namespace chat::sqlite
