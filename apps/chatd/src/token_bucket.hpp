// token_bucket.hpp: a bounded, expiring table of token buckets, one per key.
//
// Each key (a client address, a user id) has a bucket of at most `burst`
// tokens that refills at `per_second` tokens a second; take() spends one
// token, or refuses and says how long until one is there. A bucket that has
// refilled to full is the same as no bucket, so the table may forget it at any
// time: that is what keeps the state bounded and expiring.
//
// - Bounded: at most `max_keys` buckets (split across the shards). A shard
//   that is full first forgets its full buckets; if that frees less than an
//   eighth of it, it forgets its least recently used buckets down to seven
//   eighths. A forgotten bucket that was not full gives its key a fresh burst:
//   the cost of the bound, paid only when more keys are active at once than
//   the table holds.
// - Expiring: each shard forgets its full buckets whenever it is touched and
//   its last sweep is older than `sweep_interval`.
// - Time comes from the injected chat::Clock (milliseconds); a clock that
//   goes backwards refills nothing.
//
// Thread-safe: keys hash onto independent shards, each with its own mutex
// held only for one lookup and a few arithmetic operations, so concurrent
// requests of different clients rarely wait for each other.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/time.hpp"

namespace chatd {

struct TokenBucketOptions {
  double per_second = 1;  // refill rate, tokens per second (> 0)
  double burst = 1;       // capacity, tokens (>= 1)
  std::size_t max_keys = 20000;
  std::size_t shards = 16;
  std::chrono::milliseconds sweep_interval{30'000};
};

class TokenBucketTable {
 public:
  struct Decision {
    bool allowed = true;
    // When refused: the wait until a token is there, rounded up to whole
    // seconds and at least 1 s (what Retry-After carries). 0 when allowed.
    std::chrono::seconds retry_after{0};
  };

  // `clock` must outlive the table.
  TokenBucketTable(const chat::Clock& clock, TokenBucketOptions options);

  // Spends one token of `key`'s bucket (a new key starts full), or refuses
  // and changes nothing.
  Decision take(std::string_view key);

  // Buckets held now (full ones not yet forgotten included).
  std::size_t size() const;

  const TokenBucketOptions& options() const noexcept { return options_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;  // when `tokens` was last brought up to date
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets;
    std::int64_t last_sweep_ms = 0;
  };

  double level(const Bucket& b, std::int64_t now_ms) const noexcept;
  void forget_full(Shard& shard, std::int64_t now_ms);
  void make_room(Shard& shard, std::int64_t now_ms);

  const chat::Clock& clock_;
  const TokenBucketOptions options_;
  const std::size_t per_shard_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace chatd
