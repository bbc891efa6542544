// WorkerPool (worker_pool.hpp): threads on demand up to the maximum, idle
// ones ending after the linger time, the floor kept, every task run.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "wait.hpp"
#include "worker_pool.hpp"

using chatd::WorkerPool;
using chatd::WorkerPoolOptions;
using chatd_test::eventually;
using chatd_test::Signal;
using namespace std::chrono_literals;

namespace {

WorkerPoolOptions options(std::size_t min, std::size_t max, std::chrono::milliseconds linger = 60s) {
  WorkerPoolOptions o;
  o.min_threads = min;
  o.max_threads = max;
  o.linger = linger;
  return o;
}

// Tasks that hold their thread until released.
struct Gate {
  Signal open;
  std::atomic<int> entered{0};
  std::atomic<int> done{0};
  std::function<void()> task() {
    return [this] {
      entered.fetch_add(1);
      open.wait_for(60s);
      done.fetch_add(1);
    };
  }
};

}  // namespace

TEST_CASE("WorkerPool starts only the floor, then grows on demand up to the maximum, never beyond", "[workers]") {
  WorkerPool pool(options(2, 6));
  CHECK(pool.threads() == 2);
  CHECK(pool.busy() == 0);

  Gate gate;
  for (int i = 0; i < 4; ++i) pool.enqueue(gate.task());
  REQUIRE(eventually([&] { return gate.entered.load() == 4; }));
  CHECK(pool.threads() == 4);  // two idle ones took two tasks; two were started
  CHECK(pool.busy() == 4);

  for (int i = 0; i < 6; ++i) pool.enqueue(gate.task());
  REQUIRE(eventually([&] { return gate.entered.load() == 6; }));
  CHECK(pool.threads() == 6);
  CHECK(pool.busy() == 6);
  CHECK(pool.queued() == 4);  // all six busy: the rest wait, as with httplib::ThreadPool
  CHECK(pool.threads_started() == 6);

  gate.open.set();
  REQUIRE(eventually([&] { return gate.done.load() == 10; }));
  CHECK(pool.threads() == 6);
  CHECK(pool.threads_started() == 6);
  CHECK(pool.queued() == 0);
  CHECK(eventually([&] { return pool.busy() == 0; }));
}

TEST_CASE("WorkerPool: idle threads above the floor end after the linger time, the floor stays", "[workers]") {
  WorkerPool pool(options(2, 8, 100ms));
  Gate gate;
  for (int i = 0; i < 8; ++i) pool.enqueue(gate.task());
  REQUIRE(eventually([&] { return gate.entered.load() == 8; }));
  CHECK(pool.threads() == 8);
  gate.open.set();
  REQUIRE(eventually([&] { return gate.done.load() == 8; }));

  CHECK(eventually([&] { return pool.threads() == 2; }));
  CHECK(pool.threads_lingered_out() == 6);
  // The floor does not linger out, however long it idles.
  std::this_thread::sleep_for(400ms);
  CHECK(pool.threads() == 2);
}

TEST_CASE("WorkerPool: a light steady load reuses the same threads, so the others still linger out", "[workers]") {
  WorkerPool pool(options(1, 16, 300ms));
  Gate gate;
  for (int i = 0; i < 16; ++i) pool.enqueue(gate.task());
  REQUIRE(eventually([&] { return gate.entered.load() == 16; }));
  gate.open.set();
  REQUIRE(eventually([&] { return gate.done.load() == 16; }));
  // One short task every 10 ms: with FIFO wake-ups each of the 16 threads
  // would get one every 160 ms and none would ever idle 300 ms.
  std::mutex mu;
  std::set<std::thread::id> seen;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  std::atomic<int> ran{0};
  while (std::chrono::steady_clock::now() < until) {
    pool.enqueue([&] {
      std::lock_guard lock(mu);
      seen.insert(std::this_thread::get_id());
      ran.fetch_add(1);
    });
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(eventually([&] { return pool.busy() == 0 && pool.queued() == 0; }));
  CHECK(pool.threads() < 16);
  CHECK(pool.threads_lingered_out() > 0);
}

TEST_CASE("WorkerPool runs every task, from many enqueuing threads at once", "[workers]") {
  WorkerPool pool(options(2, 8, 50ms));
  std::atomic<int> ran{0};
  constexpr int kProducers = 4;
  constexpr int kEach = 2'000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        pool.enqueue([&] { ran.fetch_add(1); });
        if (i % 500 == 0) std::this_thread::sleep_for(60ms);  // let threads linger out between bursts
      }
    });
  }
  for (auto& t : producers) t.join();
  CHECK(eventually([&] { return ran.load() == kProducers * kEach; }));
  CHECK(pool.threads() <= 8);
}

TEST_CASE("WorkerPool: shutdown runs the tasks still queued, joins every thread, then drops new ones",
          "[workers]") {
  auto pool = std::make_unique<WorkerPool>(options(1, 2));
  Gate gate;
  std::atomic<int> queued_ran{0};
  pool->enqueue(gate.task());
  pool->enqueue(gate.task());
  REQUIRE(eventually([&] { return gate.entered.load() == 2; }));
  for (int i = 0; i < 20; ++i) pool->enqueue([&] { queued_ran.fetch_add(1); });
  CHECK(pool->queued() == 20);

  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    gate.open.set();
  });
  pool->shutdown();  // waits for the gated tasks, then the queued ones
  releaser.join();
  CHECK(gate.done.load() == 2);
  CHECK(queued_ran.load() == 20);
  CHECK(pool->threads() == 0);

  bool ran_after = false;
  pool->enqueue([&] { ran_after = true; });
  pool->shutdown();  // idempotent
  pool.reset();
  CHECK_FALSE(ran_after);
}

TEST_CASE("WorkerPool: a burst after the pool shrank to its floor grows it again", "[workers]") {
  WorkerPool pool(options(2, 12, 50ms));
  for (int round = 0; round < 3; ++round) {
    Gate gate;
    for (int i = 0; i < 12; ++i) pool.enqueue(gate.task());
    REQUIRE(eventually([&] { return gate.entered.load() == 12; }));
    CHECK(pool.threads() == 12);
    gate.open.set();
    REQUIRE(eventually([&] { return gate.done.load() == 12; }));
    REQUIRE(eventually([&] { return pool.threads() == 2; }));
  }
  CHECK(pool.threads_lingered_out() == 30);
}

TEST_CASE("WorkerPool destroyed with idle and busy threads joins them all", "[workers]") {
  std::atomic<int> done{0};
  {
    WorkerPool pool(options(3, 5, 20ms));
    for (int i = 0; i < 5; ++i) pool.enqueue([&] {
      std::this_thread::sleep_for(20ms);
      done.fetch_add(1);
    });
  }
  CHECK(done.load() == 5);
}
